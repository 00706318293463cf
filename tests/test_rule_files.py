"""Malformed rule packs and configurations fail at load time, naming the file, the line and what is valid."""

from __future__ import annotations

from tests.conftest import CASES, DEMO, ROOT


def check_with_rules(cli, case: str):
    return cli("check", DEMO, "--rules", CASES / "rules" / case)


def test_a_user_rule_pack_is_added_to_the_builtin_rules(cli):
    code, out, _ = cli("rules", "--rules", CASES / "rules" / "good_pack", "--tag", "site-acme")
    assert code == 0
    assert "ACME001" in out


def test_a_typo_in_a_rule_key_is_rejected_with_file_line_and_pointer(cli):
    code, _, err = check_with_rules(cli, "typo_key")
    assert code == 2
    assert "typo_key/ACME001.yaml:4" in err
    assert "'severty'" in err
    assert "Traceback" not in err


def test_an_unknown_operator_lists_the_valid_ones(cli):
    code, _, err = check_with_rules(cli, "wrong_operator")
    assert code == 2
    assert "wrong_operator/ACME001.yaml" in err
    assert "unknown operator(s) 'equals'; valid operators: eq, ne, lt, le, gt, ge, in, not_in" in err


def test_an_unknown_column_lists_the_columns_of_the_table(cli):
    code, _, err = check_with_rules(cli, "unknown_column")
    assert code == 2
    assert "unknown_column/ACME001.yaml:10" in err
    assert "'Warehouse'" in err
    assert "WarehouseCode" in err


def test_an_unknown_table_lists_the_known_tables(cli):
    code, _, err = check_with_rules(cli, "unknown_table")
    assert code == 2
    assert "JobMaterial" in err
    assert "PartPlant" in err


def test_a_duplicate_rule_id_names_both_files(cli):
    code, _, err = check_with_rules(cli, "duplicate_id")
    assert code == 2
    assert "duplicate_id/BFE001.yaml: duplicate rule id BFE001: already defined in " in err
    assert f"{ROOT / 'rules' / 'BFE001.yaml'};" in err


def test_a_config_naming_an_unknown_rule_is_rejected(cli):
    code, _, err = cli("check", DEMO, "--config", CASES / "configs" / "unknown_rule.yaml")
    assert code == 2
    assert "unknown_rule.yaml:5" in err
    assert "BFE010" in err


def test_a_config_with_a_misspelt_override_key_is_rejected(cli):
    code, _, err = cli("check", DEMO, "--config", CASES / "configs" / "bad_key.yaml")
    assert code == 2
    assert "'enable'" in err
    assert "enabled" in err


def test_a_yaml_file_with_python_tags_is_refused(cli, tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "EVIL001.yaml").write_text("id: !!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    code, _, err = cli("rules", "--rules", pack)
    assert code == 2
    assert "EVIL001.yaml" in err
