"""Sample policy packs shipped with Proctor, written from public rules."""

from pathlib import Path

PACKS_DIR = Path(__file__).resolve().parent


def pack_path(name: str) -> Path:
    """Folder of a bundled pack (e.g. "pharma"), holding policy.yaml and its samples."""
    path = PACKS_DIR / name
    if not (path / "policy.yaml").is_file():
        available = sorted(p.name for p in PACKS_DIR.iterdir() if (p / "policy.yaml").is_file())
        raise FileNotFoundError(f"no policy pack {name!r}; available: {', '.join(available)}")
    return path
