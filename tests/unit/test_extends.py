"""`extends:` finds its base beside the file, in the definitions folder, or by a relative path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workflow.cli.main import app
from workflow.definitions.loader import load_definition, load_directory
from workflow.errors import DefinitionError

DEFINITIONS = Path("definitions")


def _municipality(folder: Path, extends: str) -> Path:
    """Sorø's definition written in ``folder``, extending ``extends``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (DEFINITIONS / "soroe.yaml").read_text(encoding="utf-8")
    assert "\nextends: base\n" in text
    target = folder / "soroe.yaml"
    target.write_text(text.replace("\nextends: base\n", f"\nextends: {extends}\n"), "utf-8")
    return target


def _problems(path: Path, definitions_dir: Path | None = None) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(path, definitions_dir=definitions_dir)
    return [str(p) for p in caught.value.problems]


def test_an_id_is_found_in_the_definitions_folder(tmp_path: Path) -> None:
    soroe = load_definition(_municipality(tmp_path, "base"), definitions_dir=DEFINITIONS)
    assert soroe.extends == "base"
    assert soroe == load_definition(DEFINITIONS / "soroe.yaml")


def test_an_id_beside_the_file_comes_first(tmp_path: Path) -> None:
    base = (DEFINITIONS / "base.yaml").read_text(encoding="utf-8")
    (tmp_path / "base.yaml").write_text(base.replace("version: 1", "version: 7", 1), "utf-8")
    here = load_definition(_municipality(tmp_path, "base"), definitions_dir=DEFINITIONS)
    assert here.locate(("stages",)) is not None
    stages = here.locate(("stages",))
    assert stages is not None
    assert Path(stages.file).resolve() == (tmp_path / "base.yaml").resolve()


def test_an_id_not_found_lists_every_place_looked_in(tmp_path: Path) -> None:
    [problem] = _problems(_municipality(tmp_path, "bsae"), DEFINITIONS)
    assert "extends: cannot find the extended definition 'bsae'" in problem
    assert f"looked for {tmp_path / 'bsae.yaml'}, then definitions/bsae.yaml" in problem
    assert "did you mean 'base'?" in problem
    assert problem.startswith(f"{tmp_path / 'soroe.yaml'}:")


@pytest.mark.parametrize("written", ["../national/base.yaml", "national/base.yaml"])
def test_a_path_is_relative_to_the_extending_file(tmp_path: Path, written: str) -> None:
    folder = tmp_path / "kommune" if written.startswith("..") else tmp_path
    (tmp_path / "national").mkdir()
    shutil.copy(DEFINITIONS / "base.yaml", tmp_path / "national" / "base.yaml")
    soroe = load_definition(_municipality(folder, written))
    assert soroe.extends == "base"  # the resolved definition names its base by id
    assert soroe.content_hash == load_definition(DEFINITIONS / "soroe.yaml").content_hash


def test_a_path_not_found_is_located_and_says_where_it_looked(tmp_path: Path) -> None:
    [problem] = _problems(_municipality(tmp_path / "kommune", "../shared/base.yaml"))
    assert problem.startswith(f"{tmp_path / 'kommune' / 'soroe.yaml'}:12:10: extends: ")
    assert "cannot find the extended definition '../shared/base.yaml'" in problem
    assert f"looked for {tmp_path / 'shared' / 'base.yaml'}" in problem


def test_an_absolute_path_is_refused(tmp_path: Path) -> None:
    absolute = (DEFINITIONS / "base.yaml").resolve()
    [problem] = _problems(_municipality(tmp_path, str(absolute)))
    assert "is an absolute path (write a path relative to this file" in problem


def test_a_folder_of_definitions_looks_up_ids_in_itself(tmp_path: Path) -> None:
    shutil.copy(DEFINITIONS / "base.yaml", tmp_path / "base.yaml")
    _municipality(tmp_path, "base")
    assert set(load_directory(tmp_path)) == {"soroe"}


def test_validate_looks_in_the_installations_definitions_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workflow.settings import get_settings

    municipality = _municipality(tmp_path / "new", "base")
    monkeypatch.setenv("WORKFLOW_DEFINITIONS_DIR", str(DEFINITIONS.resolve()))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["validate", str(municipality)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "ok (soroe v" in result.output
