"""Site attestations: the readiness questionnaire (rule BFR010) and each site's answers.

The questions live in rules/questionnaire/readiness.yaml with the answer that favours backflush. A site
answers them in a YAML file (`backflush init` writes it blank); its rows become the `Attestation` table,
which BFR010 judges like any other table: unanswered, answered against backflush, or without who/when.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from validator.errors import DataError
from validator.rules.loader import BUILTIN_RULES
from validator.schemas import check_document
from validator.sources.xlsx_reader import cell_text
from validator.yamlsource import YamlDocument, date_value

QUESTIONNAIRE = BUILTIN_RULES / "questionnaire" / "readiness.yaml"
DEFAULT_NAME = "attestations.yaml"
ANSWERS = {True: "yes", False: "no", "yes": "yes", "no": "no", "y": "yes", "n": "no"}


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    favourable: str
    why: str


def questions(path: Path = QUESTIONNAIRE) -> list[Question]:
    doc = YamlDocument.read(path, DataError)
    check_document(doc, "questionnaire.schema.json", DataError)
    return [Question(k, v["text"], v["favourable"], v["why"]) for k, v in doc.data["questions"].items()]


def _answer(value: object, where: str) -> str | None:
    if value is None or value == "":
        return None
    key = value.strip().lower() if isinstance(value, str) else value
    if key not in ANSWERS:
        raise DataError(f"answer {value!r} is neither yes nor no (leave it blank while unanswered)", location=where)
    return ANSWERS[key]


def read_attestations(path: Path) -> pa.Table:
    """The Attestation table: one row per site of the file and question of the questionnaire; a question
    the file does not answer is a row with a blank answer. Unknown question ids are refused. A file that answers
    per company (`companies:`) gives its rows a Company column."""
    doc = YamlDocument.read(path, DataError)
    if not isinstance(doc.data, dict):
        raise DataError("an attestations file is a mapping with 'sites' (or 'companies'); run 'backflush init' for a "
                        "blank one", location=str(path))
    check_document(doc, "attestations.schema.json", DataError)
    known = {q.id: q for q in questions()}
    if "companies" in doc.data:
        blocks = [(["companies", company, "sites"], str(company), entry["sites"])
                  for company, entry in doc.data["companies"].items()]
    else:
        blocks = [(["sites"], None, doc.data["sites"])]
    rows = []
    for pointer, company, sites in blocks:
        for plant, answers in sites.items():
            answers = answers or {}
            unknown = sorted(set(answers) - set(known))
            if unknown:
                raise DataError(f"unknown question {unknown[0]!r}; the questions are {', '.join(known)}",
                                location=doc.where([*pointer, plant, unknown[0]]))
            for question in known.values():
                given = answers.get(question.id) or {}
                where = doc.where([*pointer, plant, question.id])
                answered_on = date_value(given.get("answered_on"), "answered_on", where, DataError)
                rows.append({"Company": company, "Plant": str(plant), "Question": question.id,
                             "QuestionText": question.text, "Favourable": question.favourable,
                             "Answer": _answer(given.get("answer"), where), "AnsweredBy": given.get("answered_by"),
                             "AnsweredOn": answered_on, "Note": given.get("note")})
    columns = ["Plant", "Question", "QuestionText", "Favourable", "Answer", "AnsweredBy", "AnsweredOn", "Note"]
    if "companies" in doc.data:
        columns.insert(0, "Company")
    return pa.table({c: pa.array([cell_text(r[c]) for r in rows], pa.string()) for c in columns})


def _site_block(plant: str, indent: str) -> list[str]:
    lines = [f"{indent}{plant}:"]
    for question in questions():
        lines += [f"{indent}  # {question.text}",
                  f"{indent}  # (answer that favours backflush: {question.favourable}; {question.why})",
                  f"{indent}  {question.id}:", f"{indent}    answer:", f"{indent}    answered_by:",
                  f"{indent}    answered_on:", f"{indent}    note:"]
    return lines


def blank_questionnaire(sites: list[tuple[str | None, str]]) -> str:
    """The YAML a consultant fills in: every question for every site, with its text and why it matters. `sites`:
    (company, plant) pairs; with a company they are written per company (`companies:`), as sites of two companies
    may share an id."""
    lines = ["# Backflush readiness questionnaire: what the exports cannot show (rule BFR010).",
             "# Answer yes or no for each site, and say who answered and when (YYYY-MM-DD).",
             "# Unanswered questions and answers against backflush are findings of 'backflush check'.",
             "questionnaire: readiness"]
    sites = sites or [(None, "MfgSys")]
    if all(company is None for company, _ in sites):
        lines.append("sites:")
        for _, plant in sites:
            lines += _site_block(plant, "  ")
        return "\n".join(lines) + "\n"
    lines.append("companies:")
    for company in dict.fromkeys(company or "" for company, _ in sites):
        lines += [f"  {company or '_'}:", "    sites:"]
        for _, plant in [s for s in sites if (s[0] or "") == company]:
            lines += _site_block(plant, "      ")
    return "\n".join(lines) + "\n"
