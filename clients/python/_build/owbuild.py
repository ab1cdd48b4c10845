"""A minimal PEP 517 build backend, standard library only: builds the pure-Python wheel of
src/outagewatch and an sdist. Used because setuptools (with wheel) may not be installable."""

import base64
import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

NAME, VERSION = "outagewatch", "0.1.0"
HERE = Path(__file__).resolve().parent.parent
TAG = "py3-none-any"


def _metadata() -> str:
    readme = (HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else ""
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
            "Summary: Standard-library client of outagewatch's health signal\n"
            "Requires-Python: >=3.9\nDescription-Content-Type: text/markdown\n\n" + readme)


def _files():
    for p in sorted((HERE / "src" / NAME).rglob("*.py")):
        yield p.relative_to(HERE / "src").as_posix(), p.read_bytes()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = Path(metadata_directory) / f"{NAME}-{VERSION}.dist-info"
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text(_metadata(), encoding="utf-8")
    (d / "WHEEL").write_text(_wheel_file(), encoding="utf-8")
    return d.name


def _wheel_file() -> str:
    return f"Wheel-Version: 1.0\nGenerator: owbuild\nRoot-Is-Purelib: true\nTag: {TAG}\n"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"{NAME}-{VERSION}-{TAG}.whl"
    info = f"{NAME}-{VERSION}.dist-info"
    entries = list(_files()) + [(f"{info}/METADATA", _metadata().encode()),
                                (f"{info}/WHEEL", _wheel_file().encode())]
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in entries:
            z.writestr(arc, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arc},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ["pyproject.toml", "README.md", "_build/owbuild.py"]:
            if (HERE / rel).exists():
                t.add(HERE / rel, f"{base}/{rel}")
        for arc, _ in _files():
            t.add(HERE / "src" / arc, f"{base}/src/{arc}")
        pkg = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n".encode()
        ti = tarfile.TarInfo(f"{base}/PKG-INFO")
        ti.size = len(pkg)
        t.addfile(ti, io.BytesIO(pkg))
    return name
