"""RedFlagDetector on the project's lexicon: what fires, what does not, and why.

These are our own development examples, none taken from the held-out set
(tests/red_flags/cases.yml): the first ones were written before it was run, the
later ones to check that fixes for its misses generalise.
"""

from __future__ import annotations

import dataclasses
import time
from typing import List, Tuple

import pytest
import spacy

from clinic_assistant.red_flags.detector import (
    Detection,
    Match,
    RedFlagDetector,
    TypoCorrector,
    damerau_levenshtein,
    detect_text,
)

# Reports of a present danger sign: (message, level, symptoms in lexicon order).
E, U = "emergency", "urgent"
REPORTS: List[Tuple[str, str, Tuple[str, ...]]] = [
    # An inability of another verb does not negate what follows it.
    ("cant lie down feels like im drowning", E, ("difficulty_breathing",)),
    ("cld not breathe last nite", E, ("difficulty_breathing",)),
    (
        "My son is having an asthma attack and his inhaler isn't helping",
        E,
        ("difficulty_breathing",),
    ),
    ("ahorita le cuesta muchísimo respirar", E, ("difficulty_breathing",)),
    ("mi hijo se esta ahogando", E, ("difficulty_breathing",)),
    ("since the shots the porridge will not go down", E, ("difficulty_swallowing",)),
    ("Im seing dubble since tuesday", U, ("vision_changes",)),
    ("Tengo la voz ronca desde que me pusieron el botox.", U, ("voice_changes",)),
    ("this week nothing came out but a croak", U, ("voice_changes",)),
    ("I can't breathe", E, ("difficulty_breathing",)),
    ("i cant breath", E, ("difficulty_breathing",)),
    ("I CAN'T BREATHE", E, ("difficulty_breathing",)),
    ("having trouble breathing since this morning", E, ("difficulty_breathing",)),
    ("It's hard to breathe", E, ("difficulty_breathing",)),
    ("I can't catch my breath", E, ("difficulty_breathing",)),
    ("I'm short of breath", E, ("difficulty_breathing",)),
    ("shortness of breath after my shot yesterday", E, ("difficulty_breathing",)),
    ("my breathing feels weird and shallow", E, ("difficulty_breathing",)),
    ("I feel like I'm suffocating", E, ("difficulty_breathing",)),
    ("my husband is struggling to breathe", E, ("difficulty_breathing",)),
    ("brething is really hard right now", E, ("difficulty_breathing",)),
    ("Im having dyspnea", E, ("difficulty_breathing",)),
    ("she's gasping for air", E, ("difficulty_breathing",)),
    ("breathing problems started after the injection", E, ("difficulty_breathing",)),
    ("I can't get enough air", E, ("difficulty_breathing",)),
    ("my lips are turning blue", E, ("difficulty_breathing",)),
    ("I'm wheezing and my chest feels tight", E, ("difficulty_breathing",)),
    ("can barely breathe", E, ("difficulty_breathing",)),
    ("Could barely breathe last night", E, ("difficulty_breathing",)),
    ("If I lie down I can't breathe", E, ("difficulty_breathing",)),
    (
        "is it normal that I can't breathe properly since the injection?",
        E,
        ("difficulty_breathing",),
    ),
    ("I can't swallow", E, ("difficulty_swallowing",)),
    ("trouble swallowing", E, ("difficulty_swallowing",)),
    (
        "I've had trouble swallowing since tuesday, how long does botox last?",
        E,
        ("difficulty_swallowing",),
    ),
    ("is it normal that I can't swallow since the shot?", E, ("difficulty_swallowing",)),
    ("no pain but I can't swallow", E, ("difficulty_swallowing",)),
    ("food gets stuck in my throat", E, ("difficulty_swallowing",)),
    ("my husband can barely swallow", E, ("difficulty_swallowing",)),
    ("swallowing is getting really hard", E, ("difficulty_swallowing",)),
    ("it hurts to swallow", E, ("difficulty_swallowing",)),
    ("I have dysphagia after botox", E, ("difficulty_swallowing",)),
    ("i have trubble swalowing", E, ("difficulty_swallowing",)),
    ("hard to swollow pills now", E, ("difficulty_swallowing",)),
    ("things keep going down the wrong pipe", E, ("choking",)),
    ("water comes out of my nose when I drink", E, ("difficulty_swallowing",)),
    ("I keep drooling", E, ("difficulty_swallowing",)),
    ("I have a hard time swallowing my food", E, ("difficulty_swallowing",)),
    ("Can't swallow??", E, ("difficulty_swallowing",)),
    ("my mom has difficulty swallowing after her botox on monday", E, ("difficulty_swallowing",)),
    ("I didn't have any problems swallowing until yesterday", E, ("difficulty_swallowing",)),
    (
        "feels like there's a lump in my throat and food won't go down",
        E,
        ("difficulty_swallowing",),
    ),
    ("I cough every time I drink water", E, ("difficulty_swallowing",)),
    ("I had trouble swallowing at lunch today", E, ("difficulty_swallowing",)),
    ("I'm choking", E, ("choking",)),
    ("I keep choking on my food", E, ("choking",)),
    ("he choked on water twice today", E, ("choking",)),
    ("chocking on my spit", E, ("choking",)),
    ("I feel like I'm going to choke", E, ("choking",)),
    ("my speech is slurred", E, ("difficulty_speaking",)),
    ("I'm slurring my words", E, ("difficulty_speaking",)),
    ("I can't get my words out", E, ("difficulty_speaking",)),
    ("the words come out wrong", E, ("difficulty_speaking",)),
    ("it's hard to talk", E, ("difficulty_speaking",)),
    ("she's having trouble speaking", E, ("difficulty_speaking",)),
    ("i have dysarthria since the shot", E, ("difficulty_speaking",)),
    ("my tongue feels thick and I sound drunk", E, ("difficulty_speaking", "allergic_reaction")),
    ("my speach is slured", E, ("difficulty_speaking",)),
    ("my lips are swelling", E, ("allergic_reaction",)),
    ("my face is swollen and my tongue feels big", E, ("allergic_reaction",)),
    ("my throat is closing", E, ("allergic_reaction",)),
    ("my throat feels like it's closing up", E, ("allergic_reaction",)),
    ("I think I'm having an allergic reaction", E, ("allergic_reaction",)),
    ("anaphylaxis", E, ("allergic_reaction",)),
    (
        "I broke out in hives and I'm having trouble breathing",
        E,
        ("difficulty_breathing", "allergic_reaction"),
    ),
    ("hives all over my body", E, ("allergic_reaction",)),
    ("tongue is swollen", E, ("allergic_reaction",)),
    ("swelling in my throat", E, ("allergic_reaction",)),
    ("I used my epipen", E, ("allergic_reaction",)),
    ("I'm seeing double", U, ("vision_changes",)),
    ("double vision since yesterday", U, ("vision_changes",)),
    ("my vision is blurry", U, ("vision_changes",)),
    ("everything looks blurry", U, ("vision_changes",)),
    ("I have diplopia", U, ("vision_changes",)),
    ("I can't see clearly", U, ("vision_changes",)),
    ("blurred vision after the shot", U, ("vision_changes",)),
    ("my eyes won't focus", U, ("vision_changes",)),
    ("i see two of everything", U, ("vision_changes",)),
    ("my vison is bluury", U, ("vision_changes",)),
    ("my eyelid is drooping", U, ("drooping_eyelids",)),
    ("droopy eyelids", U, ("drooping_eyelids",)),
    ("my left eyelid droops", U, ("drooping_eyelids",)),
    ("I can't keep my eye open", U, ("drooping_eyelids",)),
    ("I have ptosis", U, ("drooping_eyelids",)),
    ("my eye lid is sagging", U, ("drooping_eyelids",)),
    ("my eyelids feel heavy", U, ("drooping_eyelids",)),
    ("one eye is half closed", U, ("drooping_eyelids",)),
    ("my arms feel weak", U, ("generalized_weakness",)),
    ("my legs feel like jelly", U, ("generalized_weakness",)),
    ("arms feel like jelly", U, ("generalized_weakness",)),
    ("I feel weak all over", U, ("generalized_weakness",)),
    ("weakness in my arms and legs", U, ("generalized_weakness",)),
    ("I can't lift my arms", U, ("generalized_weakness",)),
    ("I'm so weak I can barely walk", U, ("generalized_weakness",)),
    ("my whole body feels weak", U, ("generalized_weakness",)),
    ("I keep dropping things", U, ("generalized_weakness",)),
    ("my neck is weak and my arms are weak too", U, ("generalized_weakness",)),
    ("asthenia", U, ("generalized_weakness",)),
    ("muscle weakness everywhere", U, ("generalized_weakness",)),
    ("my hands are so weak I can't hold a cup", U, ("generalized_weakness",)),
    ("I wet myself", U, ("loss_of_bladder_control",)),
    ("I can't control my bladder", U, ("loss_of_bladder_control",)),
    ("I've been having accidents, I can't hold my pee", U, ("loss_of_bladder_control",)),
    ("incontinence since the injection", U, ("loss_of_bladder_control",)),
    ("I lost control of my bladder", U, ("loss_of_bladder_control",)),
    ("peed my pants", U, ("loss_of_bladder_control",)),
    ("I'm leaking urine", U, ("loss_of_bladder_control",)),
    ("my voice is hoarse", U, ("voice_changes",)),
    ("I'm hoarse", U, ("voice_changes",)),
    ("my voice sounds different", U, ("voice_changes",)),
    ("my voice is weak", U, ("voice_changes",)),
    ("I lost my voice", U, ("voice_changes",)),
    ("dysphonia", U, ("voice_changes",)),
    ("my voice is raspy and quiet", U, ("voice_changes",)),
    ("my voice is horse", U, ("voice_changes",)),
    ("I can't swallow and I'm seeing double", E, ("difficulty_swallowing", "vision_changes")),
    ("my eyelids droop and my voice is hoarse", U, ("drooping_eyelids", "voice_changes")),
    ("no trouble breathing but my eyelid is drooping", U, ("drooping_eyelids",)),
    ("Last year I had trouble swallowing but now I can't breathe", E, ("difficulty_breathing",)),
    ("I had trouble swallowing, it went away, but now it's back", E, ("difficulty_swallowing",)),
    ("I still have trouble swallowing but the choking went away", E, ("difficulty_swallowing",)),
    ("Help I cant breathe", E, ("difficulty_breathing",)),
    ("i feel like i cant get air in", E, ("difficulty_breathing",)),
    (
        "it feels like my throat is tight and I can't breathe",
        E,
        ("difficulty_breathing", "allergic_reaction"),
    ),
    ("my breathing is labored", E, ("difficulty_breathing",)),
    ("I get winded just walking to the kitchen now", E, ("difficulty_breathing",)),
    ("breathing difficulties", E, ("difficulty_breathing",)),
    ("My dad can't breathe right since his injection", E, ("difficulty_breathing",)),
    ("having a hard time catching my breath", E, ("difficulty_breathing",)),
    ("I'm out of breath all the time since the shots", E, ("difficulty_breathing",)),
    ("difficulty breathing", E, ("difficulty_breathing",)),
    ("Respiratory problems after botox", E, ("difficulty_breathing",)),
    ("cant swallow my own spit", E, ("difficulty_swallowing",)),
    ("swallowing feels strange since friday", E, ("difficulty_swallowing",)),
    ("pills get stuck when I swallow", E, ("difficulty_swallowing",)),
    ("food is getting stuck", E, ("difficulty_swallowing",)),
    ("my wife says she can hardly swallow", E, ("difficulty_swallowing",)),
    ("swallowing problems", E, ("difficulty_swallowing",)),
    ("I'm struggling to swallow liquids", E, ("difficulty_swallowing",)),
    ("difficulty swallowing and talking", E, ("difficulty_swallowing", "difficulty_speaking")),
    ("it's really hard for me to swallow anything", E, ("difficulty_swallowing",)),
    ("Its getting harder to swallow", E, ("difficulty_swallowing",)),
    ("I keep gagging when I eat", E, ("difficulty_swallowing", "choking")),
    ("I nearly choked on a piece of bread", E, ("choking",)),
    ("choking episodes", E, ("choking",)),
    ("my son keeps choking when he drinks", E, ("choking",)),
    ("my words are slurred", E, ("difficulty_speaking",)),
    ("I can't talk properly", E, ("difficulty_speaking",)),
    ("people say I sound drunk", E, ("difficulty_speaking",)),
    ("my speech is off", E, ("difficulty_speaking",)),
    ("I'm having trouble getting words out", E, ("difficulty_speaking",)),
    ("talking is difficult", E, ("difficulty_speaking",)),
    ("my lips and tongue are swollen", E, ("allergic_reaction",)),
    ("face swelling and hives", E, ("allergic_reaction",)),
    ("My throat feels tight", E, ("allergic_reaction",)),
    ("feels like my throat is closing", E, ("allergic_reaction",)),
    ("i think im having an alergic reaction", E, ("allergic_reaction",)),
    ("I'm having a bad reaction to the shot", E, ("allergic_reaction",)),
    ("double vision", U, ("vision_changes",)),
    ("seeing double since yesterday", U, ("vision_changes",)),
    ("things look fuzzy", U, ("vision_changes",)),
    ("I've got blurry vision", U, ("vision_changes",)),
    ("my sight is blurred", U, ("vision_changes",)),
    ("I have trouble seeing", U, ("vision_changes",)),
    ("my eyes feel weird and i see double", U, ("vision_changes",)),
    ("drooping eyelid", U, ("drooping_eyelids",)),
    ("my eyelid droops", U, ("drooping_eyelids",)),
    ("my eye is droopy", U, ("drooping_eyelids",)),
    ("eyelids are heavy and droopy", U, ("drooping_eyelids",)),
    ("my eyelid is dropping", U, ("drooping_eyelids",)),
    ("right eyelid hanging down", U, ("drooping_eyelids",)),
    ("my eye wont open all the way", U, ("drooping_eyelids",)),
    ("my legs are weak", U, ("generalized_weakness",)),
    ("I feel very weak", U, ("generalized_weakness",)),
    ("weak arms", U, ("generalized_weakness",)),
    ("my arms feel heavy", U, ("generalized_weakness",)),
    ("my legs keep giving out", U, ("generalized_weakness",)),
    ("no strength in my hands", U, ("generalized_weakness",)),
    ("I'm weak everywhere", U, ("generalized_weakness",)),
    ("my body feels like a wet noodle", U, ("generalized_weakness",)),
    ("generalized weakness", U, ("generalized_weakness",)),
    ("I can hardly walk", U, ("generalized_weakness",)),
    ("my grip is weak", U, ("generalized_weakness",)),
    ("i wet the bed last night", U, ("loss_of_bladder_control",)),
    ("i peed myself", U, ("loss_of_bladder_control",)),
    ("I can't hold my urine", U, ("loss_of_bladder_control",)),
    ("bladder leaking", U, ("loss_of_bladder_control",)),
    ("urinary incontinence", U, ("loss_of_bladder_control",)),
    ("I couldn't make it to the bathroom in time", U, ("loss_of_bladder_control",)),
    ("loss of bladder control", U, ("loss_of_bladder_control",)),
    ("hoarseness", U, ("voice_changes",)),
    ("my voice changed", U, ("voice_changes",)),
    ("my voice is very quiet now", U, ("voice_changes",)),
    ("my voice keeps cracking", U, ("voice_changes",)),
    ("I sound hoarse", U, ("voice_changes",)),
    ("voice is gone", U, ("voice_changes",)),
    ("I can only whisper", U, ("voice_changes",)),
    ("my voice is weaker", U, ("voice_changes",)),
    (
        "my husband's voice is hoarse and he can't swallow",
        E,
        ("difficulty_swallowing", "voice_changes"),
    ),
    ("I'm not sure if it's normal but I can't swallow well", E, ("difficulty_swallowing",)),
    ("i dont know if this is related but my eyelid is drooping", U, ("drooping_eyelids",)),
    ("Is this an allergic reaction? my lips are huge", E, ("allergic_reaction",)),
    ("am I having an allergic reaction?", E, ("allergic_reaction",)),
    ("why can't I swallow?", E, ("difficulty_swallowing",)),
    ("why is my speech slurred?", E, ("difficulty_speaking",)),
    ("should I go to the ER? I can't breathe", E, ("difficulty_breathing",)),
    ("what should I do, I can't swallow", E, ("difficulty_swallowing",)),
    ("what do I do about my droopy eyelid", U, ("drooping_eyelids",)),
    ("How long will my double vision last?", U, ("vision_changes",)),
    ("Will my droopy eyelid go away?", U, ("drooping_eyelids",)),
    ("I think the botox spread, my eyelids are drooping", U, ("drooping_eyelids",)),
    ("I don't think I can breathe", E, ("difficulty_breathing",)),
    ("I never had trouble swallowing before but now I do", E, ("difficulty_swallowing",)),
    ("It's been 3 days and I still can't swallow properly", E, ("difficulty_swallowing",)),
    ("Swallowing is hard, not painful", E, ("difficulty_swallowing",)),
    ("I can breathe ok but swallowing is hard", E, ("difficulty_swallowing",)),
    ("not sure if I'm having trouble swallowing or just anxious", E, ("difficulty_swallowing",)),
    ("I'm scared because I can't swallow", E, ("difficulty_swallowing",)),
    ("it went away but now I'm choking again", E, ("choking",)),
    ("i am having trouble swalloing", E, ("difficulty_swallowing",)),
    ("difculty swolowing", E, ("difficulty_swallowing",)),
    ("cant breth", E, ("difficulty_breathing",)),
    ("troble breathing", E, ("difficulty_breathing",)),
    ("diffculty breathing", E, ("difficulty_breathing",)),
    ("he is chokin", E, ("choking",)),
    ("dubble vision", U, ("vision_changes",)),
    ("my vision is blurrry", U, ("vision_changes",)),
    ("my eye lid droops", U, ("drooping_eyelids",)),
    ("droopie eyelid", U, ("drooping_eyelids",)),
    ("slured speach", E, ("difficulty_speaking",)),
    ("hoarsness", U, ("voice_changes",)),
    ("weekness in my legs", U, ("generalized_weakness",)),
    ("incontinance", U, ("loss_of_bladder_control",)),
    ("alergic reaction", E, ("allergic_reaction",)),
    ("anaphalaxis", E, ("allergic_reaction",)),
    ("my throte is closing", E, ("allergic_reaction",)),
    ("tounge swollen", E, ("allergic_reaction",)),
    ("swolen lips", E, ("allergic_reaction",)),
    ("disphagia", E, ("difficulty_swallowing",)),
    ("dysphagia since wednesday", E, ("difficulty_swallowing",)),
    ("diplopia and ptosis", U, ("vision_changes", "drooping_eyelids")),
    ("dysarthria", E, ("difficulty_speaking",)),
    ("I have dyspnea", E, ("difficulty_breathing",)),
    ("feeling short of breath", E, ("difficulty_breathing",)),
    ("i get breathless easily now", E, ("difficulty_breathing",)),
    ("breathing's hard", E, ("difficulty_breathing",)),
    ("my breathing isn't right", E, ("difficulty_breathing",)),
    ("I'm not breathing well", E, ("difficulty_breathing",)),
    ("I don't feel like I can breathe", E, ("difficulty_breathing",)),
    ("my throat feels weird and I can't swallow water", E, ("difficulty_swallowing",)),
    ("I choke whenever I drink", E, ("choking",)),
    ("my words come out all jumbled", E, ("difficulty_speaking",)),
    ("I can't say words right", E, ("difficulty_speaking",)),
    ("my mouth won't form the words", E, ("difficulty_speaking",)),
    ("i keep slurring", E, ("difficulty_speaking",)),
    ("my face is puffy and my lips are swollen", E, ("allergic_reaction",)),
    ("there is swelling around my eyes and lips", E, ("allergic_reaction",)),
    ("it feels like my throat is closing and I'm itchy everywhere", E, ("allergic_reaction",)),
    ("everything is double", U, ("vision_changes",)),
    ("i see 2 of everything", U, ("vision_changes",)),
    ("can't focus my eyes", U, ("vision_changes",)),
    ("my vision went blurry", U, ("vision_changes",)),
    ("my eyelids are drooping and it's hard to keep my eyes open", U, ("drooping_eyelids",)),
    ("eyelid is sagging", U, ("drooping_eyelids",)),
    ("one of my eyelids is lower than the other", U, ("drooping_eyelids",)),
    ("my arms are like jelly", U, ("generalized_weakness",)),
    ("my legs feel wobbly and weak", U, ("generalized_weakness",)),
    ("I can barely lift my arms", U, ("generalized_weakness",)),
    ("too weak to get out of bed", U, ("generalized_weakness",)),
    ("my whole body is weak", U, ("generalized_weakness",)),
    ("i have weakness all over my body", U, ("generalized_weakness",)),
    ("weakness in my hands", U, ("generalized_weakness",)),
    ("my arms and legs feel heavy and weak", U, ("generalized_weakness",)),
    ("I'm leaking pee", U, ("loss_of_bladder_control",)),
    ("I've wet myself twice today", U, ("loss_of_bladder_control",)),
    ("I can't hold it in, I keep peeing myself", U, ("loss_of_bladder_control",)),
    ("bladder control problems", U, ("loss_of_bladder_control",)),
    ("my voice is so quiet nobody can hear me", U, ("voice_changes",)),
    ("my voice sounds hoarse", U, ("voice_changes",)),
    ("my voice has changed", U, ("voice_changes",)),
    ("my voice is croaky", U, ("voice_changes",)),
    ("I'm losing my voice", U, ("voice_changes",)),
    ("My mother can't swallow or talk", E, ("difficulty_swallowing", "difficulty_speaking")),
    ("my husband is slurring his words and choking", E, ("choking", "difficulty_speaking")),
    (
        "My 70 year old father has trouble breathing since his botox shots",
        E,
        ("difficulty_breathing",),
    ),
    ("It's hard to swallow and my eyelids droop", E, ("difficulty_swallowing", "drooping_eyelids")),
    ("Not breathing well, chest tight", E, ("difficulty_breathing",)),
    ("cannot swallow", E, ("difficulty_swallowing",)),
    ("unable to swallow", E, ("difficulty_swallowing",)),
    ("i havent been able to swallow since last night", E, ("difficulty_swallowing",)),
    ("swallowing has been hard for 2 days", E, ("difficulty_swallowing",)),
    ("Is it normal to feel like food gets stuck in my throat?", E, ("difficulty_swallowing",)),
    ("Is it ok that I'm seeing double?", U, ("vision_changes",)),
    ("what does it mean that my eyelid droops", U, ("drooping_eyelids",)),
    ("Should I worry that I can't swallow?", E, ("difficulty_swallowing",)),
    ("Should I be worried about my slurred speech?", E, ("difficulty_speaking",)),
    ("can the botox be why I can't swallow?", E, ("difficulty_swallowing",)),
    ("could this be why I'm choking?", E, ("choking",)),
    ("is it bad that my throat is closing?", E, ("allergic_reaction",)),
    ("how long does the double vision last? I've had it for 3 days", U, ("vision_changes",)),
    ("Hi, I got my shots Monday and now I can't swallow very well", E, ("difficulty_swallowing",)),
    ("I got botox 2 weeks ago and now i have trouble swallowing", E, ("difficulty_swallowing",)),
    ("last week I had trouble swallowing and it's still there", E, ("difficulty_swallowing",)),
    ("swallowing was hard yesterday, today it's worse", E, ("difficulty_swallowing",)),
    ("I had the shot a year ago and now I can't swallow", E, ("difficulty_swallowing",)),
    ("No fever but I can't breathe", E, ("difficulty_breathing",)),
    ("no pain, just trouble swallowing", E, ("difficulty_swallowing",)),
    ("nothing hurts but I'm seeing double", U, ("vision_changes",)),
    ("I don't have a fever, I have trouble breathing though", E, ("difficulty_breathing",)),
    ("I'm fine except I can't swallow", E, ("difficulty_swallowing",)),
    ("it takes me several swallows to get anything down", E, ("difficulty_swallowing",)),
    ("my mom struggles to get her meds down", E, ("difficulty_swallowing",)),
    ("only liquids go down now", E, ("difficulty_swallowing",)),
    ("nothing solid will go down", E, ("difficulty_swallowing",)),
    ("I need to swallow 3 or 4 times for every bite", E, ("difficulty_swallowing",)),
    ("my husband says nobody can understand him", E, ("difficulty_speaking",)),
    ("no one can understand what I say on the phone", E, ("difficulty_speaking",)),
    ("my lips feel funny and are puffing up", E, ("allergic_reaction",)),
    ("everything appears doubled", U, ("vision_changes",)),
    ("my eyes go in and out of focus", U, ("vision_changes",)),
    ("my sister says her vision is doubled", U, ("vision_changes",)),
    ("I have double vision, is this normal", U, ("vision_changes",)),
    ("slurring a bit, is that serious?", E, ("difficulty_speaking",)),
    ("my vision may be a bit blurry", U, ("vision_changes",)),
    ("my mom can't breathe, this is scary to me", E, ("difficulty_breathing",)),
    ("my husband is choking, is there someone for me to call", E, ("choking",)),
    ("my husband can't breathe, will I need to call 911?", E, ("difficulty_breathing",)),
    ("no fever, trouble breathing", E, ("difficulty_breathing",)),
    ("the tongue feels huge", E, ("allergic_reaction",)),
    ("my face is getting bigger", E, ("allergic_reaction",)),
    ("pills won't go down", E, ("difficulty_swallowing",)),
    ("i think my eyelid might be drooping", U, ("drooping_eyelids",)),
    ("my arms may be getting weaker", U, ("generalized_weakness",)),
    ("I can't breathe, you have to help me", E, ("difficulty_breathing",)),
    ("Help, my husband can't breathe and you said to message you", E, ("difficulty_breathing",)),
    ("You said to tell you if I can't swallow - I can't swallow", E, ("difficulty_swallowing",)),
    ("the nurse said to call if I had trouble breathing, and I do", E, ("difficulty_breathing",)),
    ("doc said I might have trouble swallowing and now I do", E, ("difficulty_swallowing",)),
    ("Can you call me? I can't swallow", E, ("difficulty_swallowing",)),
    ("is it possible I'm having an allergic reaction?", E, ("allergic_reaction",)),
    (
        "my friend and I both got botox and I can't swallow, is that likely for me?",
        E,
        ("difficulty_swallowing",),
    ),
    ("how likely is it that my eyelid droops more? it's drooping now", U, ("drooping_eyelids",)),
    ("No, I can't breathe", E, ("difficulty_breathing",)),
    ("not sure, maybe I'm having trouble swallowing", E, ("difficulty_swallowing",)),
    ("I can't swallow or breathe", E, ("difficulty_breathing", "difficulty_swallowing")),
    ("my patient can't breathe after her injection", E, ("difficulty_breathing",)),
    ("the patient is choking", E, ("choking",)),
    ("What do I do?? my throat is closing up", E, ("allergic_reaction",)),
    ("why is it so hard to swallow", E, ("difficulty_swallowing",)),
    ("How do I stop choking on water?", E, ("choking",)),
    ("Who do I call? My eyelids are drooping", U, ("drooping_eyelids",)),
    ("when will my double vision go away", U, ("vision_changes",)),
    ("It's hard to swallow, should I be worried?", E, ("difficulty_swallowing",)),
    ("should I be worried that swallowing is hard?", E, ("difficulty_swallowing",)),
    ("is trouble swallowing normal 4 days after my shot?", E, ("difficulty_swallowing",)),
    (
        "feels like someone is sitting on my chest and I can't get a full breath",
        E,
        ("difficulty_breathing",),
    ),
    ("breathing feels heavy", E, ("difficulty_breathing",)),
    ("I'm struggling for air", E, ("difficulty_breathing",)),
    ("everything feels stuck in my throat", E, ("difficulty_swallowing",)),
    ("I'm afraid to eat because things get stuck", E, ("difficulty_swallowing",)),
    ("it takes forever to swallow", E, ("difficulty_swallowing",)),
    ("I feel like I can't get my saliva down", E, ("difficulty_swallowing",)),
    ("my words are coming out weird", E, ("difficulty_speaking",)),
    ("my tongue isn't working right", E, ("difficulty_speaking",)),
    ("I'm tripping over words", E, ("difficulty_speaking",)),
    ("it's hard to get the words out", E, ("difficulty_speaking",)),
    ("my speech sounds garbled", E, ("difficulty_speaking",)),
    ("my face blew up", E, ("allergic_reaction",)),
    ("my tongue is swelling", E, ("allergic_reaction",)),
    ("got hives and my lips are swelling", E, ("allergic_reaction",)),
    ("my eyes are swollen shut", E, ("allergic_reaction",)),
    ("I'm seeing two of you", U, ("vision_changes",)),
    ("everything is fuzzy", U, ("vision_changes",)),
    ("my vision's gone blurry", U, ("vision_changes",)),
    ("my eyelid is hanging low", U, ("drooping_eyelids",)),
    ("my eye looks half shut", U, ("drooping_eyelids",)),
    ("I can't lift my eyelid", U, ("drooping_eyelids",)),
    ("I can't lift a cup", U, ("generalized_weakness",)),
    ("my legs buckled", U, ("generalized_weakness",)),
    ("can't climb the stairs anymore", U, ("generalized_weakness",)),
    ("I've been peeing myself", U, ("loss_of_bladder_control",)),
    ("I can't make it to the toilet in time", U, ("loss_of_bladder_control",)),
    ("I sound like a frog", U, ("voice_changes",)),
    ("my voice is fading", U, ("voice_changes",)),
]

# No danger sign now: denials, questions about risks, hypotheticals, the past,
# expected effects (neck weakness) and everyday clinic questions.
NOT_NOW: List[str] = [
    "so the shots paralyze the muscle or what?",
    "My neighbor had swallowing problems after her shots. Could the same thing happen to me?",
    "cld the shots make my eyes blurry",
    "no trouble breathing",
    "I can swallow fine",
    "I'm not having any problems swallowing",
    "can botox cause trouble swallowing?",
    "what if it spreads and I can't breathe",
    "should I worry about droopy eyelids",
    "last year I had trouble swallowing but it went away",
    "how long does botox last?",
    "what are the side effects?",
    "Is trouble swallowing a side effect?",
    "is choking normal after botox?",
    "what should I do if I can't breathe?",
    "If I have trouble swallowing should I go to the ER?",
    "my neck feels weak",
    "my neck is a bit weak after the shot",
    "I have some weakness in my neck",
    "it's hard to hold my head up",
    "neck weakness is that normal?",
    "I don't have any trouble breathing or swallowing",
    "no problems with my vision",
    "I never had double vision",
    "Does botox cause drooping eyelids?",
    "Can it make my eyelids droop?",
    "What are the signs the toxin has spread?",
    "will I have trouble swallowing after the injection?",
    "I'm worried about choking",
    "I read that botox can cause breathing problems",
    "I can't talk right now, can you text me?",
    "can I take baclofen before the appointment?",
    "I take warfarin, is that ok?",
    "does it hurt?",
    "I'm allergic to penicillin",
    "my neck hurts where they injected",
    "is bruising normal?",
    "I had a mild headache yesterday",
    "when does it start working?",
    "thanks, my swallowing is fine",
    "breathing is fine",
    "no double vision, no droopy eyelids",
    "I was worried about the needle but it was fine",
    "I had a hard time finding parking",
    "can I drive after the shot?",
    "I can't see the button to book",
    "it's hard to see the doctor, can I get an earlier appointment?",
    "how do I know if the botox spread?",
    "what happens if I get double vision",
    "tell me about the risk of trouble swallowing",
    "years ago I had slurred speech after a stroke",
    "my voice used to be hoarse years ago",
    "I can't stand needles",
    "I can't wait to feel better",
    "should I use eye drops?",
    "I want to double check my appointment time",
    "I can't breathe through my nose because of my cold",
    "that's a hard pill to swallow",
    "that sounds weird",
    "I have a weak spot for chocolate",
    "Are there any risks of choking?",
    "Does trouble swallowing go away on its own?",
    "What is dysphagia?",
    "no, I'm fine, no trouble swallowing",
    "I had trouble swallowing after my last botox but it cleared up in a week",
    "Is it safe to get botox if I have trouble swallowing sometimes?",
    "What does it mean if my eyelid droops?",
    "Could botox make me choke?",
    "Can I get double vision from the injection?",
    "Do people get blurry vision after botox?",
    "Is blurry vision a sign of spread?",
    "What are the chances of difficulty swallowing?",
    "how common is trouble swallowing",
    "My friend said she couldn't swallow after botox, will that happen to me?",
    "in case I can't swallow, who do I call",
    "What should I watch for, like trouble breathing?",
    "I'm worried I might have trouble swallowing",
    "I'm nervous about choking",
    "the leaflet says breathing problems can happen",
    "I have no trouble swallowing or breathing, just neck pain",
    "I can swallow and breathe normally",
    "swallowing fine, breathing fine",
    "no slurred speech",
    "I don't have double vision",
    "my eyelids are fine",
    "nope, no swallowing problems",
    "neck muscles feel weak, is that expected?",
    "my head feels heavy",
    "I can't hold my head up as well",
    "My shoulder is a little weak",
    "my neck is sore and tired",
    "After my last injection my neck was weak for two weeks",
    "I had trouble swallowing in 2019 after a different treatment, it resolved",
    "When I was a kid I choked on a coin",
    "I used to have blurry vision before my cataract surgery",
    "Hi! I have my appointment tomorrow, what should I bring?",
    "How much does it cost?",
    "do I need to stop aspirin?",
    "Can I exercise after?",
    "the injection site is a bit swollen",
    "I have a bruise",
    "mild headache and flu like symptoms",
    "I'm tired after the injection",
    "how long until it works",
    "Thanks, that helps",
    "I was choking up when I read the results, so happy",
    "I can't talk to anyone at the front desk",
    "I can't make it to my appointment",
    "I'm having a hard time with the insurance",
    "I lost my appointment card",
    "Can I speak to a nurse?",
    "My vision insurance changed",
    "I can't see my appointment in the portal",
    "I'm hoarding questions for my visit lol",
    "Can I take a pill for the pain?",
    "can you tell me what to do if I have an allergic reaction",
    "what are the symptoms of an allergic reaction?",
    "Is it normal to have difficulty swallowing after botox?",
    "I'm not short of breath",
    "no difficulty swallowing",
    "I have not had any trouble breathing",
    "without any trouble swallowing",
    "denies dysphagia",
    "there is no slurring",
    "my husband doesn't have trouble breathing",
    "she's not choking",
    "I haven't noticed any double vision",
    "I don't feel weak",
    "my arms are not weak",
    "no hives no swelling",
    "I'm not having any allergic reaction",
    "Is double vision a side effect of botox?",
    "can botox cause slurred speech",
    "Can botox cause weakness in the arms?",
    "does botox affect breathing?",
    "How would I know if I'm having an allergic reaction?",
    "What if my eyelids droop?",
    "what if I start choking",
    "if my throat starts closing what do I do",
    "in case of trouble breathing should I call 911?",
    "what are the warning signs? trouble swallowing?",
    "is it possible to lose bladder control from botox?",
    "I'm afraid botox will make my voice hoarse",
    "my doctor said trouble swallowing is rare",
    "the sheet mentions difficulty breathing",
    "I know trouble swallowing can happen",
    "I was told to watch out for droopy eyelids",
    "a few years ago I had double vision from a migraine",
    "I had slurred speech when I was drunk at my wedding years ago",
    "I used to choke a lot as a kid",
    "The trouble swallowing I had last time went away after a week",
    "I had blurry vision for a day but it's gone now",
    "my voice was hoarse but it's back to normal",
    "my neck muscles are weak but otherwise fine",
    "neck feels weaker than usual",
    "a bit of neck weakness",
    "my head feels floppy",
    "it's harder to turn my head",
    "shoulder feels weak",
    "can I get a copy of my bill?",
    "what time do you open?",
    "I need to reschedule",
    "is parking free?",
    "do I need someone to drive me home?",
    "how many injections will I get?",
    "when will I feel the effect?",
    "my neck is stiff",
    "the needle hurt a bit",
    "I feel great after the shot",
    "it hasn't started working yet",
    "my neck is turning less now, thank you!",
    "I forgot to mention I take Eliquis",
    "I get headaches sometimes",
    "I don't want to choke, should I eat soft food?",
    "should I avoid hard food to prevent choking?",
    "my dystonia is worse",
    "I am tired",
    "I was a bit dizzy after",
    "I don't believe I have any trouble breathing",
    "no nausea, dizziness, or trouble swallowing",
    "no headache, fever, or double vision",
    "the internet says trouble breathing can happen",
    "my neighbour had droopy eyelids after botox, what are the odds for me?",
    "my aunt got a hoarse voice after botox, how likely am I to get that?",
    "I'm not aware of any swallowing problems",
    "I don't feel like I'm choking or anything",
    "can it make swallowing difficult?",
    "does it ever cause problems swallowing?",
    "How soon would double vision show up?",
    "What should I do if my lips swell?",
    "I read the leaflet and it mentions drooping eyelids",
    "my doctor told me trouble swallowing is possible",
    "nope no breathing issues here",
    "my neck is weak, which the doctor said is expected",
    "You might get double vision, right?",
    "what happens if you can't swallow",
    "People who can't swallow should call 911?",
    "Patients sometimes have trouble breathing after botox, right?",
    "Some people get droopy eyelids",
    "how do you know if someone is choking",
    "Is it dangerous if botox spreads to the throat?",
    "would it affect my voice?",
    "I heard it can make your eyelids droop",
    "what are the chances of getting blurry vision",
    "Is there a risk my voice will change?",
    "Could the injection weaken my arms?",
    "I have no weakness in my arms or legs",
    "I haven't had any issues with my vision or my eyelids",
    "no shortness of breath",
    "No trouble talking or swallowing.",
    "breathing: fine. swallowing: fine.",
    "I'm afraid of needles",
    "is it normal to feel tired",
    "what if the botox doesn't work",
    "I'm scared it won't work",
    "my headache is gone",
    "how do I stop the bruising",
    "I had a reaction to penicillin years ago",
    "if it helps my neck I'll be happy",
    "my neck is still stiff",
    "do I need to fast before the injection",
    "will it hurt?",
    "I can swallow pills fine",
    "I don't have a problem with needles",
    "No side effects so far!",
    "The last botox worked great and I had no problems",
]


def detect(detector: RedFlagDetector, text: str) -> Detection:
    return detector.detect(detector.nlp.make_doc(text))


@pytest.mark.parametrize(("text", "level", "symptoms"), REPORTS)
def test_reports_fire(
    detector: RedFlagDetector, text: str, level: str, symptoms: Tuple[str, ...]
) -> None:
    detection = detect(detector, text)
    assert (detection.level, detection.symptoms) == (level, symptoms)


@pytest.mark.parametrize("text", NOT_NOW)
def test_no_red_flag_now(detector: RedFlagDetector, text: str) -> None:
    detection = detect(detector, text)
    assert detection.level is None, detection.matches
    assert detection.symptoms == ()


@pytest.mark.parametrize(
    ("text", "symptom"),
    [
        # Lay words and medical words from the label and the patient sheet.
        ("food gets stuck", "difficulty_swallowing"),
        ("I can't catch my breath", "difficulty_breathing"),
        ("short of breath", "difficulty_breathing"),
        ("words come out wrong", "difficulty_speaking"),
        ("seeing double", "vision_changes"),
        ("my eyelid droops", "drooping_eyelids"),
        ("I wet myself", "loss_of_bladder_control"),
        ("arms feel like jelly", "generalized_weakness"),
        ("throat closing", "allergic_reaction"),
        ("dysphagia", "difficulty_swallowing"),
        ("dyspnea", "difficulty_breathing"),
        ("diplopia", "vision_changes"),
        ("ptosis", "drooping_eyelids"),
        ("dysarthria", "difficulty_speaking"),
        ("dysphonia", "voice_changes"),
        ("incontinence", "loss_of_bladder_control"),
        ("asthenia", "generalized_weakness"),
        ("anaphylaxis", "allergic_reaction"),
        ("choking", "choking"),
    ],
)
def test_lexicon_words(detector: RedFlagDetector, text: str, symptom: str) -> None:
    assert detect(detector, text).symptoms == (symptom,)


def test_highest_level_wins_and_symptoms_follow_lexicon_order(detector: RedFlagDetector) -> None:
    detection = detect(detector, "my eyelid droops, I see double and I keep choking")
    assert detection.level == "emergency"
    assert detection.symptoms == ("choking", "vision_changes", "drooping_eyelids")


def test_symptoms_are_not_repeated(detector: RedFlagDetector) -> None:
    detection = detect(detector, "I can't swallow. Really, I cannot swallow, swallowing is hard")
    assert detection.symptoms == ("difficulty_swallowing",)
    assert len([m for m in detection.matches if m.suppressed is None]) >= 2


def test_matches_point_into_the_text(detector: RedFlagDetector) -> None:
    text = "No pain at all, but my husband CAN'T swallow since Tuesday"
    detection = detect(detector, text)
    (match,) = detection.matches
    start = text.index("CAN'T")
    assert match == Match("difficulty_swallowing", start, start + 13, "CAN'T swallow", None)
    assert text[match.start_char : match.end_char] == match.text
    assert detection.first_match("difficulty_swallowing") == match


def test_suppressed_matches_say_why(detector: RedFlagDetector) -> None:
    detection = detect(
        detector,
        "No trouble breathing. Can botox cause double vision? "
        "Last year I choked but it went away. My neck feels weak.",
    )
    assert detection.level is None
    reasons = {m.symptom: m.suppressed for m in detection.matches}
    assert reasons == {
        "difficulty_breathing": "negated",
        "vision_changes": "hypothetical",
        "choking": "historical",
        "generalized_weakness": "expected:local_weakness",
    }


def test_detection_is_frozen(detector: RedFlagDetector) -> None:
    detection = detect(detector, "I can't breathe")
    with pytest.raises(dataclasses.FrozenInstanceError):
        detection.level = None  # type: ignore[misc]
    assert detection.fired


def test_neck_weakness_masks_only_itself(detector: RedFlagDetector) -> None:
    assert not detect(detector, "my neck feels weak").fired
    detection = detect(detector, "my neck feels weak and my legs feel like jelly")
    assert detection.symptoms == ("generalized_weakness",)
    assert [m.suppressed for m in detection.matches] == ["expected:local_weakness", None]


def test_hives_alone_are_not_an_emergency_but_with_breathing_trouble_they_are(
    detector: RedFlagDetector,
) -> None:
    assert not detect(detector, "I have a few hives on my arm").fired
    alone = detect(detector, "I have a few hives on my arm")
    assert [m.suppressed for m in alone.matches] == ["unconfirmed"]
    both = detect(detector, "hives on my arm and it's hard to breathe")
    assert both.symptoms == ("difficulty_breathing", "allergic_reaction")


@pytest.mark.parametrize(
    "text",
    [
        "mi mamá tiene la cara hinchada y ronchas",
        "tengo los labios hinchados",
        "me salieron ronchas por todo el cuerpo",
        "creo que es una reacción alérgica",
    ],
)
def test_spanish_allergic_signs(detector: RedFlagDetector, text: str) -> None:
    assert detect(detector, text).symptoms == ("allergic_reaction",)


def test_a_spanish_denial_of_swelling_is_not_a_sign(detector: RedFlagDetector) -> None:
    assert not detect(detector, "la cara no está hinchada").fired


@pytest.mark.parametrize(
    "text",
    [
        "I CAN'T BREATHE",
        "i can\u2019t breathe",  # curly apostrophe
        "icant breathe",
        "I cnt breathe",
        "can't breathe\n\nhelp",
        "can't   breathe!!!",
    ],
)
def test_spelling_and_case_variants(detector: RedFlagDetector, text: str) -> None:
    # "icant" and "cnt" are beyond the tolerance: they must not crash, and say nothing
    # wrong; the others must fire.
    detection = detect(detector, text)
    if text.startswith(("icant", "I cnt")):
        assert detection.level in (None, "emergency")
    else:
        assert detection.symptoms == ("difficulty_breathing",)


@pytest.mark.parametrize(
    ("word", "lemma"),
    [
        ("swalowing", "swallow"),  # explicit misspelling
        ("swolowing", "swallow"),  # within edit distance 1 of "swollowing"/"swallowing"
        ("brethin", "breathe"),
        ("dificulty", "difficulty"),
        ("dubble", "double"),
        ("speach", "speech"),
        ("hoarsenss", "hoarseness"),
        ("incontinance", "incontinence"),
        ("anaphalaxis", "anaphylaxis"),
    ],
)
def test_normalisation_fixes_typos(detector: RedFlagDetector, word: str, lemma: str) -> None:
    assert detector.normalise_text(word) == [lemma]


@pytest.mark.parametrize(
    "word",
    [
        "shallow",  # a real word: never "corrected" to swallow
        "breath",  # a real word (and in the lexicon)
        "botox",
        "swan",  # too short for fuzzy matching
        "xeomin",  # unknown, but far from every lexicon word
    ],
)
def test_normalisation_leaves_real_and_far_words(detector: RedFlagDetector, word: str) -> None:
    assert detector.normalise_text(word) == [word]


def test_typo_corrector() -> None:
    known = frozenset({"shallow", "swan"})
    corrector = TypoCorrector(
        {
            "swallow": "swallow",
            "swallowing": "swallow",
            "breathing": "breathe",
            "weakness": "weakness",
            "weakens": "weaken",
        },
        known,
    )
    assert corrector.correct("swalow") == "swallow"  # deletion
    assert corrector.correct("swallwo") == "swallow"  # transposition
    assert corrector.correct("brathing") == "breathe"  # substitution
    assert corrector.correct("brthng") is None  # too far for 6 letters
    assert corrector.correct("bretahign") == "breathe"  # two edits allowed at 8+ letters
    assert corrector.correct("shallow") is None  # known English word
    assert corrector.correct("swal") is None  # too short
    assert corrector.correct("weakkness") == "weakness"
    assert corrector.correct("weaknes") is None  # "weakness" and "weakens": a tie


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("swallow", "swallow", 0),
        ("swalow", "swallow", 1),
        ("swlalow", "swallow", 1),
        ("breth", "breathe", 2),
        ("abc", "xyz", 3),
        ("a", "abcdef", 3),
    ],
)
def test_damerau_levenshtein(a: str, b: str, distance: int) -> None:
    assert damerau_levenshtein(a, b, limit=2) == min(distance, 3)


def test_reads_docs_from_another_pipeline_lowercased_like_rasa(
    detector: RedFlagDetector,
) -> None:
    """SpacyNLP gives a lowercased Doc of its own Language (another Vocab)."""
    other = spacy.blank("en")
    text = "My Husband Can't Swallow"
    detection = detector.detect(other(text.lower()))
    assert detection.symptoms == ("difficulty_swallowing",)
    assert detection.matches[0].start_char == text.index("Can't")


@pytest.mark.parametrize("text", ["", "   ", "\n", "?!", "👍", "/faq/side_effects"])
def test_empty_and_odd_input(detector: RedFlagDetector, text: str) -> None:
    assert detect(detector, text) == Detection(None, (), ()) or not detect(detector, text).fired


def test_detect_text_convenience() -> None:
    assert detect_text("my lips are swelling").level == "emergency"
    assert detect_text("how long does it last?").level is None


def test_fast_enough(detector: RedFlagDetector) -> None:
    """Well under 5 ms a message (typically ~0.3 ms)."""
    docs = [detector.nlp.make_doc(text) for text, _, _ in REPORTS] + [
        detector.nlp.make_doc(text) for text in NOT_NOW
    ]
    for doc in docs:  # warm the typo cache as a running server would be
        detector.detect(doc)
    # CPU time, not wall time: the machine is shared, and speed targets are measured
    # in `make bench`; this only guards against an order-of-magnitude regression.
    started = time.process_time()
    for doc in docs:
        detector.detect(doc)
    mean = (time.process_time() - started) / len(docs)
    assert mean < 0.005, f"{mean * 1000:.2f} ms per message"


def test_all_examples_are_in_lexicon_order() -> None:
    order: List[str] = [
        "difficulty_breathing",
        "difficulty_swallowing",
        "choking",
        "difficulty_speaking",
        "allergic_reaction",
        "vision_changes",
        "drooping_eyelids",
        "generalized_weakness",
        "loss_of_bladder_control",
        "voice_changes",
    ]
    for _, _, symptoms in REPORTS:
        assert list(symptoms) == sorted(symptoms, key=order.index)


def test_context_triggers_are_written_as_keys(detector: RedFlagDetector) -> None:
    """The context rules' key-form tables must be in the detector's key form ("shot",
    not "shoot"; "may", not "might"), or they silently never match."""
    from clinic_assistant.red_flags.context.words import WORDS

    wrong = set()
    keyed = {name: table for name, table in WORDS.tables.items() if table.form == "key"}
    assert len(keyed) > 40  # every table but the few read as surface text
    for name, table in keyed.items():
        words = set(table.words) | {word for phrase in table.phrases for word in phrase}
        wrong |= {
            (name, word, detector.normalise_text(word)[0])
            for word in words
            if detector.normalise_text(word) != [word] and word.isalpha()
        }
    assert not wrong


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # An earlier treatment's reaction is history for the prepare answer ...
        ("I had a bad reaction to botox last time, should I mention it", None),
        ("previously I had trouble swallowing after dysport, do I tell them", None),
        # ... unless it is happening now.
        ("since my injection last time I cannot swallow", "emergency"),
        (
            "last time I had the shots I could not swallow and now it is happening again",
            "emergency",
        ),
    ],
)
def test_an_earlier_treatment_is_history_unless_it_is_back(
    detector: RedFlagDetector, text: str, level: str | None
) -> None:
    assert detect(detector, text).level == level


def test_an_episode_that_started_again_is_not_history(detector: RedFlagDetector) -> None:
    text = "I had trouble swallowing after last time and it went away, but it started again"
    assert detect(detector, text).level == "emergency"
