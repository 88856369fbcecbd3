"""The staff pages: escalations, conversations, a transcript, improve, analytics."""

from __future__ import annotations

import json
from datetime import datetime, time, timezone
from typing import Optional, Tuple
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from clinic_assistant.console import (
    analytics,
    conversations,
    escalation_board,
    improve,
    phone_reveal,
    review,
    summary,
    tables,
)
from clinic_assistant.console.web import (
    back,
    context_of,
    form_of,
    query,
    record,
    render,
    user_of,
)

TAG_CHARS = 40


async def _refresh(request: Request) -> None:
    """Bring the summary index up to date before a page reads it."""
    await run_in_threadpool(summary.refresh, context_of(request).db_url)


async def escalations_page(request: Request) -> Response:
    """The landing page: open escalations, newest first."""
    service = context_of(request).escalations
    items = await run_in_threadpool(escalation_board.open_escalations, service)
    resolved = await run_in_threadpool(escalation_board.recently_resolved, service)
    total = await run_in_threadpool(escalation_board.count_open, service)
    return render(request, "escalations.html", items=items, resolved=resolved, total=total)


async def escalations_feed(request: Request) -> Response:
    """The open escalations' rows, polled by the page (does not count as activity)."""
    service = context_of(request).escalations
    items = await run_in_threadpool(escalation_board.open_escalations, service)
    total = await run_in_threadpool(escalation_board.count_open, service)
    return render(request, "_escalation_rows.html", items=items, total=total)


def _escalation_id(request: Request) -> int:
    raw = request.path_params["escalation_id"]
    return int(raw)


async def acknowledge(request: Request) -> Response:
    """A staff member has seen the escalation and is acting on it (under their name)."""
    escalation_id = _escalation_id(request)
    done = await run_in_threadpool(
        escalation_board.acknowledge,
        context_of(request).escalations,
        escalation_id,
        user_of(request).username,
    )
    if done:
        await record(request, "acknowledge", target=f"escalation:{escalation_id}")
    return back("/")


async def resolve(request: Request) -> Response:
    """Close the escalation with a note saying what was done (under their name)."""
    escalation_id = _escalation_id(request)
    form = await form_of(request)
    note = form.get("note", "").strip()
    if not note:
        return PlainTextResponse("A note saying what was done is required.", 400)
    done = await run_in_threadpool(
        escalation_board.resolve,
        context_of(request).escalations,
        escalation_id,
        user_of(request).username,
        note,
    )
    if done:
        await record(request, "resolve", target=f"escalation:{escalation_id}")
    return back("/")


def _day_start(text: str) -> Optional[float]:
    period = analytics._date(text)
    if period is None:
        return None
    return datetime.combine(period, time(), tzinfo=timezone.utc).timestamp()


def _filters(request: Request) -> conversations.Filters:
    until = _day_start(query(request, "to"))
    return conversations.Filters(
        since=_day_start(query(request, "from")),
        until=None if until is None else until + 86400,
        channel=query(request, "channel") or None,
        outcome=query(request, "outcome") or None,
        query=query(request, "q", conversations.MAX_QUERY_CHARS),
        tag=query(request, "tag", TAG_CHARS) or None,
        review=query(request, "review") or None,
    )


def _after(request: Request) -> Optional[Tuple[float, str]]:
    raw = query(request, "after", 400)
    stamp, _, sender = raw.partition(":")
    try:
        return (float(stamp), sender) if raw else None
    except ValueError:
        return None


async def conversation_list(request: Request) -> Response:
    """Conversations with filters, text search and paging."""
    await _refresh(request)
    db_url = context_of(request).db_url
    filters = _filters(request)
    rows, next_key = await run_in_threadpool(
        conversations.list_conversations, filters, after=_after(request), db_url=db_url
    )
    if filters.any:
        detail = {k: v for k, v in request.query_params.items() if k != "after" and v}
        await record(request, "search", detail=json.dumps(detail, ensure_ascii=False))
    next_params = None
    if next_key is not None:
        params = dict(request.query_params)
        params["after"] = f"{next_key[0]!r}:{next_key[1]}"
        next_params = params
    return render(
        request,
        "conversations.html",
        rows=rows,
        next_params=next_params,
        params=dict(request.query_params),
        channels=await run_in_threadpool(conversations.channels, db_url),
        outcomes=summary.OUTCOMES,
        review_states=tables.REVIEW_STATES,
    )


def _conversation_id(request: Request) -> str:
    return query(request, "id", 255)


async def transcript_page(request: Request) -> Response:
    """One conversation, turn by turn, with what was understood and its escalations."""
    await _refresh(request)
    db_url = context_of(request).db_url
    sender_id = _conversation_id(request)
    found = await run_in_threadpool(conversations.transcript, sender_id, db_url=db_url)
    if found is None:
        return render(request, "not_found.html", 404, what="conversation")
    await record(request, "view_transcript", target=f"conversation:{sender_id}")
    escalations = await run_in_threadpool(
        escalation_board.for_conversation, context_of(request).escalations, sender_id
    )
    state, tags = await run_in_threadpool(review.review_and_tags, sender_id, db_url)
    return render(
        request,
        "transcript.html",
        transcript=found,
        escalations=escalations,
        review=state,
        tags=tags,
        review_states=tables.REVIEW_STATES,
        can_reveal=await run_in_threadpool(phone_reveal.available, sender_id, db_url),
        revealed=None,
    )


def _clean_tag(raw: str) -> str:
    return " ".join(raw.split()).lower()[:TAG_CHARS]


async def conversation_update(request: Request) -> Response:
    """Set the review state, add or remove a tag, or reveal the patient's number."""
    db_url = context_of(request).db_url
    form = await form_of(request)
    sender_id = form.get("id", "")[:255]
    target = f"conversation:{sender_id}"
    url = f"/conversation?id={_quote(sender_id)}"
    user = user_of(request)
    action = form.get("action", "")
    if action == "review" and form.get("state") in tables.REVIEW_STATES:
        await run_in_threadpool(review.set_review, sender_id, form["state"], user.username, db_url)
        await record(request, "review_state", target=target, detail=form["state"])
    elif action in ("tag", "untag") and _clean_tag(form.get("tag", "")):
        tag = _clean_tag(form["tag"])
        await run_in_threadpool(
            review.set_tag, sender_id, tag, action == "tag", user.username, db_url
        )
        await record(request, "tag", target=target, detail=f"{action} {tag}")
    elif action == "reveal":
        reason = " ".join(form.get("reason", "").split())[:300]
        if len(reason) < 5:
            return PlainTextResponse("Say why you need the patient's number.", 400)
        number = await run_in_threadpool(phone_reveal.reveal, sender_id, db_url)
        await record(request, "reveal_phone", target=target, detail=reason)
        found = await run_in_threadpool(conversations.transcript, sender_id, db_url=db_url)
        if found is None:
            return render(request, "not_found.html", 404, what="conversation")
        state, tags = await run_in_threadpool(review.review_and_tags, sender_id, db_url)
        escalations = await run_in_threadpool(
            escalation_board.for_conversation, context_of(request).escalations, sender_id
        )
        return render(
            request,
            "transcript.html",
            transcript=found,
            escalations=escalations,
            review=state,
            tags=tags,
            review_states=tables.REVIEW_STATES,
            can_reveal=True,
            revealed=number or "(no number on record)",
        )
    else:
        return PlainTextResponse("Unknown change.", 400)
    return back(url)


def _quote(value: str) -> str:
    return quote(value, safe="")


async def improve_page(request: Request) -> Response:
    """Messages the assistant did not understand or only clarified, to label."""
    await _refresh(request)
    before_raw = query(request, "before", 20)
    before = int(before_raw) if before_raw.isdigit() else None
    show_labelled = query(request, "all") == "1"
    items, next_key = await run_in_threadpool(
        lambda: improve.queue(
            show_labelled=show_labelled, before=before, db_url=context_of(request).db_url
        )
    )
    return render(
        request,
        "improve.html",
        items=items,
        next_key=next_key,
        answers=improve.answers(),
        not_in_sheet=tables.NOT_IN_SHEET,
        show_labelled=show_labelled,
    )


async def improve_label(request: Request) -> Response:
    """Store a staff member's pick for one message."""
    form = await form_of(request)
    raw = form.get("event_id", "")
    answer = form.get("answer", "")
    if not raw.isdigit():
        return PlainTextResponse("Which message?", 400)
    try:
        sender_id = await run_in_threadpool(
            improve.label,
            int(raw),
            answer,
            user_of(request).username,
            db_url=context_of(request).db_url,
        )
    except (ValueError, LookupError) as error:
        return PlainTextResponse(f"Cannot label that: {error}.", 400)
    await record(
        request, "label", target=f"conversation:{sender_id}", detail=f"message {raw}: {answer}"
    )
    return back("/improve")


async def improve_export(request: Request) -> Response:
    """The picks as a Rasa NLU YAML file."""
    text, count = await run_in_threadpool(improve.export_yaml, db_url=context_of(request).db_url)
    await record(request, "export_yaml", detail=f"{count} examples")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
    return PlainTextResponse(
        text,
        media_type="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="nlu-picks-{stamp}.yml"'},
    )


def _period(request: Request) -> analytics.Period:
    return analytics.period_of(query(request, "from"), query(request, "to"))


async def analytics_page(request: Request) -> Response:
    """Charts of the counts over a period."""
    await _refresh(request)
    period = _period(request)
    report = await run_in_threadpool(analytics.build, period, db_url=context_of(request).db_url)
    return render(
        request,
        "analytics.html",
        report=report,
        chart_json=analytics.chart_data(report),
        first=period.first.isoformat(),
        last=period.last.isoformat(),
    )


async def analytics_export(request: Request) -> Response:
    """The same counts as CSV (no message text)."""
    await _refresh(request)
    period = _period(request)
    report = await run_in_threadpool(analytics.build, period, db_url=context_of(request).db_url)
    await record(request, "export_csv", detail=f"{period.first}..{period.last}")
    return PlainTextResponse(
        analytics.to_csv(report),
        media_type="text/csv",
        headers={
            "Content-Disposition": (
                f'attachment; filename="clinic-assistant-{period.first}-{period.last}.csv"'
            )
        },
    )


ROUTES = [
    Route("/", escalations_page, methods=["GET"]),
    Route("/escalations/feed", escalations_feed, methods=["GET"]),
    Route("/escalations/{escalation_id:int}/acknowledge", acknowledge, methods=["POST"]),
    Route("/escalations/{escalation_id:int}/resolve", resolve, methods=["POST"]),
    Route("/conversations", conversation_list, methods=["GET"]),
    Route("/conversation", transcript_page, methods=["GET"]),
    Route("/conversation", conversation_update, methods=["POST"]),
    Route("/improve", improve_page, methods=["GET"]),
    Route("/improve/label", improve_label, methods=["POST"]),
    Route("/improve/export.yml", improve_export, methods=["GET"]),
    Route("/analytics", analytics_page, methods=["GET"]),
    Route("/analytics/export.csv", analytics_export, methods=["GET"]),
]
