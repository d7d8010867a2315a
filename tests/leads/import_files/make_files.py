"""Writes the small import fixture files beside this script: `python tests/leads/import_files/make_files.py`.

Each file is one reading case of the importer; the tests read them as bytes, so what is here is exactly
what an admin would upload.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent


def write(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def main() -> None:
    write(
        "utf8_bom_comma.csv",
        "\ufeffFirst Name,Last Name,Email,Phone,Company\r\n"
        "Zoë,Ångström,zoe@example.com,(415) 555-0101,Ørsted A/S\r\n"
        "Jürgen,Müller,jurgen@example.com,,Müller GmbH\r\n".encode(),
    )
    write(
        "utf8_semicolon.csv",
        "Full Name;E-Mail Address;Mobile;Organisation;Job Title\n"
        "Ana Núñez;ana@example.com;+34 612 345 678;Acme, S.L.;CEO\n"
        "Bo Ek;bo@example.com;;Ek AB;CTO\n".encode(),
    )
    write(
        "cp1252_accents.csv",
        "Name;Email;Phone;Company\r\n"
        "José Muñoz;jose@example.com;415-555-0102;Café Olé\r\n"
        "Søren Æbelø;soren@example.com;;Smørrebrød ApS\r\n"
        "Günther Über;gunther@example.com;;Straße & Co\r\n".encode("cp1252"),
    )
    write(
        "tab_delimited.tsv",
        b"first_name\tlast_name\temail\ttelephone\n"
        b"Tab\tSeparated\ttab@example.com\t4155550103\n"
        b"Second\tRow\tsecond@example.com\t\n",
    )
    write(
        "pipe_delimited.csv",
        b"Given Name|Surname|Work Email|Tel|Account\n"
        b"Pipe|Person|pipe@example.com|415.555.0104|Pipes, Inc.\n",
    )
    write(
        "title_rows.csv",
        b"Badge scans - Boston Expo 2026,,,\n"
        b"Exported 2026-03-01,,,\n"
        b",,,\n"
        b"Name,Email,Phone,Notes\n"
        b"Tia Title,tia@example.com,,Booth 12\n"
        b",,,\n"
        b"Ron Rows,ron@example.com,,\n",
    )
    write(
        "quoted_newlines.csv",
        b'Name,Email,Notes,Company\r\n'
        b'"Quinn, Quote",quinn@example.com,"Line one\r\nLine two, with comma","Big ""Q"" Corp"\r\n'
        b'Una Plain,una@example.com,"Said: ""call me""\nnext week",Plain Co\r\n',
    )
    write(
        "duplicates.csv",
        b"Name,Email,Phone,Company,Title\n"
        b"Dee Dupe,dee@example.com,,,\n"
        b"Dee Dupe,DEE@Example.com ,(415) 555-0105,Dupe Inc,\n"
        b"Dee Phone,,415-555-0105,,Buyer\n"
        b"Other Person,other@example.com,,,\n",
    )
    write(
        "invalid_contacts.csv",
        b"Name,Email,Phone\n"
        b"Bad Email,not-an-email,415-555-0106\n"
        b"Bad Phone,phone@example.com,12345\n"
        b"Both Bad,nope,123\n"
        b"No Contact,,\n"
        b",noname@example.com,415-555-0107\n",
    )
    write(
        "overlong.csv",
        b"First Name,Last Name,Email,Company\n"
        + b"Long,Company,long@example.com," + b"C" * 201 + b"\n"
        + b"Fine,Row,fine@example.com,Short Co\n",
    )
    write("empty.csv", b"")
    write("blank_lines.csv", b"\r\n\r\n   \r\n")
    write("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)))
    write("header_only.csv", b"Name,Email,Phone\r\n")
    write("unmappable.csv", b"Foo,Bar,Baz\n1,2,3\n4,5,6\n")
    write(
        "utf16_excel.txt",
        "Name\tEmail\tCompany\r\nŁukasz Żółw\tlukasz@example.com\tKraków Sp.\r\n".encode("utf-16"),
    )
    write(
        "formulas.csv",
        b"Name,Email,Company\n"
        b"Eve Formula,eve@example.com,=HYPERLINK(\"http://evil\")\n"
        b"<script>alert(1)</script>,script@example.com,+cmd|' /C calc'!A0\n"
        b"Bad Row,bad-email,@SUM(1+1)\n",
    )

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Scans"
    sheet.append(["Lead list from Paris Expo"])
    sheet.append([])
    sheet.append(["First Name", "Last Name", "Email", "Phone", "Met On", "Company"])
    met_on = datetime.datetime(2026, 3, 4)  # noqa: DTZ001 - Excel cells carry no time zone
    sheet.append(["Xena", "Excel", "xena@example.com", 14155550108, met_on, "Sheets Ltd"])
    sheet.append(["Yann", "Float", "yann@example.com", 4155550109.0, datetime.date(2026, 3, 5), "=1+2"])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["Zed", "NoContact", None, None, None, "Nobody Co"])
    workbook.save(HERE / "contacts.xlsx")

    wide = openpyxl.Workbook()
    wide.active.append(["Name", "Email"])
    wide.active.append(["Wide Sheet", "wide@example.com"])
    wide.active.cell(row=2, column=16_000, value="x")  # a dimension far wider than any list
    wide.save(HERE / "huge_dimension.xlsx")


if __name__ == "__main__":
    main()
