"""storage.erasure: a person is found inside whatever a message carries (documents
as base64, reports still to be drawn), and only there."""

from __future__ import annotations

import json

from documents.table import csv_bytes
from documents.xlsx import workbook
from handlers.messages import Render, Reply
from storage.erasure import Traces, _pattern, payload_texts

NAME = "วรรณวิสาข์ & ทดลอง"  # the "&" is escaped in the workbook's XML
TEXT = 'งาน "กองคลัง" ทุกเช้า'  # the quotes are doubled in the CSV


def person(*needles: str) -> Traces:
    folded = tuple(n.casefold() for n in needles)
    return Traces(
        person_id=7,
        since=None,  # type: ignore[arg-type]
        number=None,
        account_ids=(),
        chats=(),
        account_keys=(),
        idea_ids=frozenset(),
        feedback_ids=frozenset(),
        needles=folded,
        pattern=_pattern(folded),
    )


def sheet(value: str) -> dict:
    return {"title": "People", "header": ["name"], "rows": [[value]]}


def quoted(reply: Reply, found: Traces) -> bool:
    return found.quoted_in(payload_texts([reply.to_json()]))


def test_a_person_is_found_inside_documents_and_reports_to_draw():
    found = person(NAME, TEXT)
    as_xlsx = Reply("report", document=workbook([sheet(NAME)]), document_name="r.xlsx")
    as_csv = Reply("report", document=csv_bytes(["plan"], [[TEXT]]), document_name="r.csv")
    as_json = Reply("data", document=json.dumps({"n": TEXT}).encode(), document_name="d.json")
    to_draw = Reply("report", render=Render("xlsx", {"sheets": [sheet(NAME)]}, as_document=True))
    for reply in (as_xlsx, as_csv, as_json, to_draw, Reply(f"#3 {NAME.upper()} finished")):
        assert quoted(reply, found), reply.document_name
    others = Reply("report", document=workbook([sheet("ผู้อื่น")]), document_name="r.xlsx")
    assert not quoted(others, found)
    assert not quoted(Reply("chart", image_png=NAME.encode()), found)  # pictures are not read


def test_latin_names_and_ids_stand_alone():
    found = person("tom", "123456")
    assert quoted(Reply("Well done, Tom!"), found)
    assert quoted(Reply("chat 123456 left"), found)
    assert not quoted(Reply("See you tomorrow"), found)
    assert not quoted(Reply("order 91234567"), found)
    assert not person().quoted_in(["anything"])
