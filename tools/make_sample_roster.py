"""Write the shipped sample roster (input/roster.xlsx) and synthetic rosters for benchmarks.

Every person here is invented, and so is the company "Fjordlys Energi AS". Email addresses use
the reserved domain ``fjordlys.example``. The output is byte-for-byte the same on every run.

    python tools/make_sample_roster.py                 # writes input/roster.xlsx
    python tools/make_sample_roster.py --force         # replaces a changed input/roster.xlsx
    python tools/make_sample_roster.py --synthetic 1000 --output /tmp/big.xlsx
"""

import argparse
import datetime as dt
import io
import random
import re
import sys
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from pipeline.state.files import write_private

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PATH = ROOT / "input" / "roster.xlsx"
COMPANY = "Fjordlys Energi AS"
DOMAIN = "fjordlys.example"
EXPORTED = dt.datetime(2027, 1, 2, 8, 0, 0)  # the export date the title rows show
HEADERS = (
    "Ansattnr", "Fornavn", "Etternavn", "E-post", "Leders ansattnr", "Avdeling", "Stilling",
    "Startdato", "Språk", "Kostnadssted",
)  # fmt: skip
COST_CENTRES = {
    "Ledelse": "1100",
    "Drift og vedlikehold": "2100",
    "Kundeservice": "3100",
    "Økonomi og innkjøp": "4100",
    "IT og digitalisering": "5100",
}


@dataclass(frozen=True)
class Person:
    """One row of a roster as the HR system exports it (ids may be numbers or text)."""

    id: int | str
    first_name: str
    last_name: str
    manager_id: int | str | None
    department: str
    title: str
    start_date: dt.datetime | str | None
    language: str
    email: str = ""  # "" means: made from the name


# id, first name, last name, manager id, department, title, start date (yyyy-mm-dd), language.
# Two ids are text ("1023", "1022"), as HR exports sometimes have; "Brøndbo " and "Kundeservice "
# keep the trailing space of the export.
_SAMPLE = """
1001|Åse Marie|Sæther||Ledelse|Administrerende direktør|2011-03-01|nb
1002|Kristine Margrethe|Østby-Haugland Sørensen|1001|Ledelse|HR-direktør|2014-08-18|nb
1003|Torstein|Ødegård|1001|Ledelse|Kommunikasjonssjef|2019-01-07|
1004|Mari|Lien-Bakke|1002|Ledelse|HR-rådgiver|2021-09-01|nb
1010|Bjørn|Hansen-Bø|1001|Drift og vedlikehold|Driftsdirektør|2009-05-04|nb
1011|Anne-Lise|Fjeldstad|1010|Drift og vedlikehold|Teamleder nettdrift|2013-02-11|nb
1012|Håkon|Øverland|1010|Drift og vedlikehold|Teamleder vedlikehold|2016-10-03|nb
1013|Siri|Kvåle|1011|Drift og vedlikehold|Driftstekniker|2018-04-16|nb
1014|Petter|Grønnevik|1011|Drift og vedlikehold|Driftsingeniør|2020-08-24|nb
1015|Kåre|Bråten|1011|Drift og vedlikehold|Montør|2007-11-05|nb
1016|Ingrid|Sætre Holm|1011|Drift og vedlikehold|Driftstekniker|2022-01-10|nb
1017|Jørgen|Myrvang|1012|Drift og vedlikehold|Vedlikeholdsplanlegger|2015-06-01|nb
1018|Eirik|O'Neill|1012|Drift og vedlikehold|Montør|2023-03-13|nb
1019|Tone|Aasen-Løvli|1012|Drift og vedlikehold|Fagarbeider elkraft|2017-09-04|
1020|Marte|Ødegaard Lunde|1001|Kundeservice|Kundeservicesjef|2012-10-15|nb
1021|Jens-Petter|Haugen|1020|Kundeservice|Teamleder privatkunder|2016-02-01|nb
1022|Sølvi|Nærø|1020|Kundeservice|Teamleder bedriftskunder|2018-11-19|nb
"1023"|Lars|Brøndbo |1021|Kundeservice|Kundebehandler|2024-08-12|nb
1024|Astrid|Vågen|1021|Kundeservice |Kundebehandler|2021-05-03|nb
1025|Mohammed|Larsen|1021|Kundeservice|Kundebehandler|2019-09-30|nb
1026|Hege|Skjærvø|"1022"|Kundeservice|Kunderådgiver|2020-01-06|nb
1027|Øystein|Dæhli|1022|Kundeservice|Kunderådgiver|2025-02-17|nb
1030|Gunnhild|Rønningen|1001|Økonomi og innkjøp|Økonomisjef|2010-01-04|nb
1031|Per Åge|Tønnessen|1030|Økonomi og innkjøp|Teamleder regnskap|2014-03-24|nb
1032|Linnea|Bjørklund|1031|Økonomi og innkjøp|Regnskapsmedarbeider|2022-08-15|nb
1033|Trond|Ålgård-Pedersen|1031|Økonomi og innkjøp|Regnskapsmedarbeider|2008-09-01|nb
1034|Camilla|Sjøberg|1030|Økonomi og innkjøp|Innkjøpsrådgiver|2019-04-23|nb
1035|Vidar|Kløvstad|1031|Økonomi og innkjøp|Lønnsansvarlig|2016-12-01|nb
1040|Ragnhild|Strøm-Olsen|1001|IT og digitalisering|IT-sjef|2015-01-12|nb
1041|Andreas|Fæste|1040|IT og digitalisering|Teamleder utvikling|2017-05-02|nb
1042|Maja|Holmøy|1040|IT og digitalisering|Teamleder drift og sikkerhet|2018-08-06|nb
1043|Sindre|Lyngstad Ødegård|1041|IT og digitalisering|Utvikler|2023-08-21|nb
1044|Fiona|O'Donnell-Whitaker|1041|IT og digitalisering|Seniorutvikler|2021-10-04|en
1045|Emil|Bøe|1041|IT og digitalisering|Utvikler|2024-01-08|nb
1046|Nora|Aas-Hæreid|1042|IT og digitalisering|Systemadministrator|2020-06-15|nb
1047|Ole Kristian|Tveitå|1042|IT og digitalisering|Sikkerhetsrådgiver|2012-04-10|nb
"""
BLANK_ROW_AFTER = 18  # the export has one empty row in the middle


def _names(text: str) -> tuple[str, ...]:
    """Return the names of a "|"-separated list."""
    return tuple(text.split("|"))


FIRST_NAMES = _names(
    "Åse|Anne-Lise|Bjørn|Håkon|Kåre|Sølvi|Øystein|Jørgen|Ingrid|Ragnhild|Gunnhild|Tone|Siri|"
    "Per Åge|Mari|Kristine Margrethe|Torstein|Eirik|Marte|Astrid|Hege|Linnea|Trond|Vidar|Nora|"
    "Emil|Maja|Sindre|Ole Kristian|Jens-Petter|Liv|Mette|Bård|Ørjan|Æsa|Tor-Erik|Synnøve|Ståle"
)
LAST_NAMES = _names(
    "Sæther|Ødegård|Hansen-Bø|Østby-Haugland Sørensen|O'Neill|Bråten|Grønnevik|Kvåle|Myrvang|"
    "Aasen-Løvli|Nærø|Brøndbo|Vågen|Skjærvø|Dæhli|Rønningen|Tønnessen|Bjørklund|Ålgård-Pedersen|"
    "Sjøberg|Kløvstad|Strøm-Olsen|Fæste|Holmøy|Lyngstad Ødegård|Bøe|Aas-Hæreid|Tveitå|Løkkeberg|"
    "Hæhre|Grøtting|Åmodt|Nordbø|Fjærli|Mørk-Hansen"
)
TITLES = ("Rådgiver", "Konsulent", "Tekniker", "Saksbehandler", "Ingeniør", "Koordinator")


def sample_people() -> list[Person]:
    """Return the 36 employees of the sample roster, in sheet order."""
    people = []
    for line in _SAMPLE.strip().splitlines():
        raw_id, first, last, manager, department, title, start, language = line.split("|")
        people.append(
            Person(
                id=_id_cell(raw_id),
                first_name=first,
                last_name=last,
                manager_id=_id_cell(manager) if manager else None,
                department=department,
                title=title,
                start_date=dt.datetime.fromisoformat(start),
                language=language,
            )
        )
    return people


def _id_cell(text: str) -> int | str:
    """Return a sample id as the cell holds it: quoted ids stay text, the others are numbers."""
    return text.strip('"') if text.startswith('"') else int(text)


def email_for(first_name: str, last_name: str, suffix: str = "") -> str:
    """Return "fornavn.etternavn@fjordlys.example" in plain ASCII ("Åse Sæther" -> ase.saether)."""
    given = first_name.split()[0]
    local = f"{given}.{last_name.strip().replace(' ', '.')}{suffix}".lower()
    for letter, plain in (("æ", "ae"), ("ø", "o"), ("å", "a"), ("'", "")):
        local = local.replace(letter, plain)
    local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode("ascii")
    return f"{local}@{DOMAIN}"


def roster_bytes(people: list[Person], blank_after: int | None = None) -> bytes:
    """Return the .xlsx bytes of a roster laid out like an HR export (title rows, then table)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Ansatte"
    sheet.append([f"Ansattliste – {COMPANY}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"Eksportert: {EXPORTED:%d.%m.%Y}"])
    sheet.append([])
    sheet.append(list(HEADERS))
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for number, person in enumerate(people, start=1):
        sheet.append(_cells(person))
        if number == blank_after:
            sheet.append([])
    for row in sheet.iter_rows(min_row=5, min_col=8, max_col=8):
        row[0].number_format = "DD.MM.YYYY"
    for letter, width in zip("ABCDEFGHIJ", (10, 20, 26, 44, 15, 22, 28, 12, 7, 13), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A5"
    book.properties.creator = "samtale tools/make_sample_roster.py"
    book.properties.created = EXPORTED
    buffer = io.BytesIO()
    book.save(buffer)
    return _fixed_times(buffer.getvalue())


def _cells(person: Person) -> list[object]:
    """Return the row of cells for one person, in HEADERS order."""
    email = person.email or email_for(person.first_name, person.last_name)
    return [
        person.id,
        person.first_name,
        person.last_name,
        email,
        person.manager_id,
        person.department,
        person.title,
        person.start_date,
        person.language or None,
        COST_CENTRES.get(person.department.strip(), ""),
    ]


def _fixed_times(data: bytes) -> bytes:
    """Return the .xlsx repacked with fixed timestamps, so equal rosters give equal bytes."""
    stamp = EXPORTED.isoformat().encode("ascii") + b"Z"
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, content)
            fixed = zipfile.ZipInfo(info.filename, date_time=EXPORTED.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, content)
    return out.getvalue()


def synthetic_people(n: int, seed: int = 1) -> list[Person]:
    """Return ``n`` invented employees: a CEO, department heads, team leads and their staff."""
    rng = random.Random(seed)
    departments = list(COST_CENTRES)
    heads = min(len(departments), max(n - 1, 0))
    leads = max(1, (n - 1 - heads) // 8) if n - 1 - heads >= 2 else 0
    people: list[Person] = []
    for index in range(n):
        number = 10001 + index
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if index == 0:
            manager, department, title = None, departments[0], "Administrerende direktør"
        elif index <= heads:
            manager, department, title = 10001, departments[index - 1], "Avdelingsleder"
        elif index <= heads + leads:
            head = 1 + (index - heads - 1) % heads
            manager, department, title = 10001 + head, departments[head - 1], "Teamleder"
        else:
            lead = heads + 1 + rng.randrange(leads) if leads else rng.randrange(heads + 1)
            manager, department = 10001 + lead, people[lead].department
            title = rng.choice(TITLES)
        start = dt.datetime(1990, 1, 1) + dt.timedelta(days=rng.randrange(13_000))
        people.append(
            Person(
                id=str(number) if index % 7 == 3 else number,  # some ids stored as text
                first_name=first,
                last_name=last,
                manager_id=float(manager) if manager and index % 11 == 5 else manager,
                department=department,
                title=title,
                start_date=f"{start:%d.%m.%Y}" if index % 5 == 2 else start,
                language="en" if rng.random() < 0.03 else rng.choice(("nb", "nb", "")),
                email=email_for(first, last, f".{number}"),
            )
        )
    return people


def write_synthetic_roster(path: Path, n: int, seed: int = 1) -> Path:
    """Return ``path`` after writing a valid roster of ``n`` invented employees (never overwrites).

    The manager tree has four levels once ``n`` is 8 or more; names carry æøå, hyphens and
    apostrophes; ids and dates mix numbers, text and Excel dates. The same ``n`` and ``seed``
    give the same bytes.
    """
    return write_private(Path(path), roster_bytes(synthetic_people(n, seed), blank_after=n // 2))


def main(argv: list[str] | None = None) -> int:
    """Write the sample (or a synthetic) roster and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=SAMPLE_PATH, help="where to write it")
    parser.add_argument("--force", action="store_true", help="replace a different existing file")
    parser.add_argument("--synthetic", type=int, metavar="N", help="N invented employees instead")
    parser.add_argument("--seed", type=int, default=1, help="seed for --synthetic")
    args = parser.parse_args(argv)
    if args.synthetic is not None:
        data = roster_bytes(synthetic_people(args.synthetic, args.seed), args.synthetic // 2)
    else:
        data = roster_bytes(sample_people(), blank_after=BLANK_ROW_AFTER)
    output: Path = args.output
    if output.exists() and output.read_bytes() == data:
        print(f"{output} is up to date")
        return 0
    if output.exists() and not args.force:
        print(f"{output} exists and differs; use --force to replace it", file=sys.stderr)
        return 1
    write_private(output, data, overwrite=args.force)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
