"""``marshrut card import`` and ``marshrut card export`` (SPEC §7), run as real subprocesses."""

import io
import os
import subprocess
import sys

import docx

from tests import card_docs
from tests.conftest import ROOT

MARSHRUT = os.path.join(os.path.dirname(sys.executable), "marshrut")


def marshrut(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSHRUT_")} | {"MARSHRUT_DATABASE_URL": database_url}
    return subprocess.run([MARSHRUT, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_a_card_is_imported_to_files_deployed_and_exported_back(db, settings, tmp_path):
    card = tmp_path / "housing.docx"
    card.write_bytes(card_docs.housing_card())
    out = tmp_path / "generated"
    imported = marshrut(settings.database_url, "card", "import", str(card), "--key", "housing_subsidy",
                        "--name", "Призначення житлової субсидії", "--out", str(out))
    assert imported.returncode == 0, imported.stderr
    assert "sektor_zhytlovykh_subsydii" in imported.stderr  # the new role is a warning
    forms = sorted((out / "forms" / "housing_subsidy").glob("*.json"))
    assert len(forms) == 5 and (out / "housing_subsidy.bpmn").is_file()
    again = marshrut(settings.database_url, "card", "import", str(card), "--key", "housing_subsidy", "--out", str(out))
    assert again.returncode == 1 and "--force" in again.stderr

    deployed = marshrut(settings.database_url, "deploy", str(out / "housing_subsidy.bpmn"), *map(str, forms))
    assert deployed.returncode == 0, deployed.stderr
    exported = marshrut(settings.database_url, "card", "export", "housing_subsidy", "--out", str(tmp_path / "c.docx"))
    assert exported.returncode == 0, exported.stderr
    rows = [[c.text for c in row.cells] for row in docx.Document(io.BytesIO((tmp_path / "c.docx").read_bytes())).tables[0].rows]
    assert [r[1] for r in rows[2:-2]] == ["Прийом заяви та декларації про доходи", "Перевірка доходів за даними ДПС і ПФУ",
                                          "Погодження розрахунку субсидії", "Повідомлення заявника про призначення субсидії"]
    assert rows[3][2:] == ["Сектор житлових субсидій\nВідділ реалізації міських соціальних програм", "В\nУ",
                           "Протягом 2-3 днів"]


def test_an_unreadable_card_fails_with_the_reason(settings, tmp_path):
    card = tmp_path / "list.docx"
    card.write_bytes(card_docs.unreadable_card())
    result = marshrut(settings.database_url, "card", "import", str(card), "--key", "x_card", "--out", str(tmp_path))
    assert result.returncode == 1 and "Етапи послуги" in result.stderr
