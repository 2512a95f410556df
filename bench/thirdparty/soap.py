"""Record a SOAP service (a library's, contract first: its own WSDL served on `?wsdl`, soapbar's
SoapApplication dispatching it under wsgiref, WS-Security UsernameToken) while the real SOAP client zeep runs a
librarian's session against it, then verify the pact against a fresh, empty service.

    .venv/bin/python bench/thirdparty/soap.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE the librarian's password where
the name says password, else a placeholder.

Why soapbar and not spyne, the usual Python SOAP server: spyne 2.14.0 (the last release) does not import on
Python 3.12 (its vendored six: `No module named 'spyne.util.six.moves'`). soapbar (PINS) is a maintained SOAP
1.1/1.2 toolkit whose server dispatches document/literal wrapped operations to a service class's methods,
answers faults, checks WS-Security UsernameTokens and serves a WSDL. Its generated WSDL declares neither the
complex types an operation's parameters use nor optional elements, so the service is contract first as legacy
services often are: SERVER holds its WSDL (complex types Book, Author, Loan; arrays AuthorList, TagList,
BookList; `minOccurs="0"` for optional elements) and hands it to SoapApplication(custom_wsdl=...). zeep's own
tests mock their transport (no live server), so the consumer is a librarian's command line written with zeep
(CLIENT), as its users write theirs; every step is one process that fetches the WSDL and calls one operation.

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/soap/ with soapbar (the provider) and zeep (the consumer),
           every package pinned, installed once per pin set.
  direct   a fresh service and the session below run straight against it (--no-direct leaves this out).
  record   another fresh service, `pact-recorder record --consumer library-cli --provider library-soap` in front
           of it, the same session with the recorder's URL as the WSDL's; SIGTERM makes it write
           OUT/library-cli-library-soap.json.
  verify   a third fresh service (empty: no book, no loan), `pact-recorder verify --states-from-recording`;
           then, refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (steps with their expected exit code through the recorder and directly, how many
gave the same exit code both ways, whether the librarian's password reached any file the recorder wrote,
exchanges, interactions, verified green / total) and the failures grouped by cause, and writes them as JSON to
DIR/figures.json (and --json FILE).

The service (SERVER, `python server.py PORT`, 127.0.0.1, state in memory: a new process is a new, empty
library): SOAP 1.1 over `POST /` (every operation; `SOAPAction: "urn:harness:library/OP"` names it), the WSDL
on `GET /?wsdl`, whose `soap:address` is the URL the service was started with (so a client that fetched the
WSDL through the recorder calls the service directly unless it sets the binding's address: the CLI does, as
clients behind a gateway do). Operations: AddBook(book) -> book (ids handed out 1, 2, 3...; faults for an
invalid ISBN, an empty title, an ISBN that exists), GetBook(id), UpdateBook(id, title?, year?, price?),
DeleteBook(id) -> deleted (fault while it is on loan), ListBooks(author?, availableOnly?) -> books,
LendBook(bookId, member) -> loan (fault when it is on loan), ReturnBook(loanId) -> book; a missing book or
loan is a `soapenv:Client` Fault. Faults are HTTP 500 (SOAP 1.1). Every call must carry a wsse:Security
header with a UsernameToken (PasswordText: plain HTTP on a trusted network, as such services run; soapbar needs
allow_plaintext_credentials=True for it) naming an account the service knows; without one, or with a wrong
password, the answer is a Client Fault.

The session (each step one "test", passed when it has its expected exit code: 0, or 1 where the service
answers the Fault it provokes on purpose): the CLI's `operations` (the WSDL alone); `list` of the empty
library; `add` of three books (two authors with and without a birth year, tags and a price; one author, no
tags, no price; an ISBN-10 ending in X); the refusals of an ISBN that exists, an invalid ISBN and an empty
title; `get`, and of a book none has; `update` of a price, of a title and a year, with an empty title, of a
book none has; `list`, by author, by an author none wrote, of the available books; `lend` a book, again
(on loan), of a book none has; `delete` of a lent book; `return` the loan, again; `delete`, `get` of the
deleted book, `delete` again; a call with a wrong password and one with no UsernameToken; a last `list`.
Ids are read from the CLI's answers (JSON), never assumed. The password comes from the environment, on no
command line. Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (soapbar 0.21.0 + zeep 4.3.3): 30 steps, 30 / 30 with their expected exit code both directly
and through the recorder (the same exit code each); 59 exchanges, 45 recorded: the 14 SOAP Faults (HTTP 500, as
SOAP 1.1 answers them: not found, invalid ISBN, duplicate ISBN, empty title, on loan, wrong password, no
UsernameToken) left out by the default select rule 'server-errors', so no Fault the consumer handles is in the
contract. 8 interactions, one per operation as SOAPAction names it (`POST /` bodies told apart by the header's
`operation` rule; the 30 successful calls collapse into 7, e.g. ListBooks' empty, full, by-author, no-match and
available-only calls are one interaction) plus `GET /?wsdl` (verified as `?wsdl=`); 4 with a provider state.
The librarian's password IS on disk, in clear: the PasswordText of every request's wsse:UsernameToken, 7 times
in the pact and once in the states file (nothing redacted: the recorder redacts XML bodies only by the look of
a token, never by an element's name), so verify asks for nothing (no exit 2). verify with
`--states-from-recording`: exit 1, 4 / 8 green (GET ?wsdl, AddBook, DeleteBook, ListBooks). The 4 red, one
class: ids the service hands out, sent back in XML request bodies as recorded (`<ns0:id>1</ns0:id>` of GetBook
and UpdateBook, `<bookId>1` of LendBook, `<loanId>1` of ReturnBook): the state "what earlier writes handed out
exists" replays AddBook, which on the fresh service (after the AddBook and DeleteBook interactions ran) hands
out 2, not 1, and nothing puts it in the body (no generator in an XML body), so the service answers Fault "book
1 not found" (200 -> 500); the setup's AddBook replayed again (LendBook's state) collides with the book the
previous setup left ("a book with isbn ... exists": no undo is known for an RPC's DeleteBook); and ReturnBook's
loanId 1 is taken for AddBook's id 1 (the same small integer), so its setup never lends the book.
One run: direct 11 to 20 s, record 18 to 35 s, verify 1 to 3 s (30 s to 1 min 15 s in all); the setup, once, ~15 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

SOAPBAR, ZEEP = "0.21.0", "4.3.3"
PINS = [f"soapbar=={SOAPBAR}", f"zeep=={ZEEP}", "lxml==6.2.1"]
HOME = ROOT / ".venv" / "thirdparty" / "soap"
VENV = HOME / "venv"
BIN = VENV / "bin"
CONSUMER, PROVIDER = "library-cli", "library-soap"
USER, PASSWORD = "librarian", "Sh3lf-Keeper-2024"  # the password must reach no file the recorder writes
STEP_SECONDS = 60


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """The venv under HOME with PINS, installed once per pin set; its bin folder."""
    stamp = HOME / ".installed"
    if stamp.is_file() and stamp.read_text() == "\n".join(PINS) and (BIN / "python").is_file():
        return BIN
    print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(BIN / "python", "install", *PINS)
    stamp.write_text("\n".join(PINS))
    return BIN


def clean_env(home: Path) -> dict[str, str]:
    """The environment less any proxy or Python setting of the user's."""
    drop = ("PYTHON", "VIRTUAL_ENV", "LIBRARY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and "proxy" not in k.lower()}
    return env | {"HOME": str(home), "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


# --- the service -------------------------------------------------------------------------------------

SERVER = r'''"""The library's SOAP service: `python server.py PORT`. Contract first (its WSDL below, served on ?wsdl),
soapbar's SoapApplication dispatching under wsgiref, WS-Security UsernameToken, state in memory."""
import itertools
import os
import re
import sys
import warnings
from wsgiref.simple_server import WSGIRequestHandler, make_server

from soapbar import ArrayXsdType, ComplexXsdType, OperationParameter, SoapFault, UsernameTokenValidator, xsd
from soapbar.server.application import SoapApplication
from soapbar.server.service import SoapService, soap_operation
from soapbar.server.wsgi import WsgiSoapApp

TNS = "urn:harness:library"
ACCOUNTS = {os.environ["LIBRARY_USER"]: os.environ["LIBRARY_PASSWORD"]}
S, I, B, D, DATE = (xsd.resolve(n) for n in ("string", "int", "boolean", "decimal", "date"))


def array(name, item, tag):
    return ArrayXsdType(name, item, element_tag=tag, target_namespace=TNS, qualified=True)


def complex_(name, fields):
    return ComplexXsdType(name, fields, TNS, qualified=True)


Author = complex_("Author", [("name", S), ("born", I)])
Book = complex_("Book", [("id", I), ("isbn", S), ("title", S), ("authors", array("AuthorList", Author, "author")),
                         ("year", I), ("tags", array("TagList", S, "tag")), ("price", D), ("available", B)])
Loan = complex_("Loan", [("loanId", I), ("bookId", I), ("member", S), ("due", DATE)])
BookList = array("BookList", Book, "book")

# operation: (inputs, outputs), each (name, type, optional)
OPS = {
    "AddBook": ([("book", Book, False)], [("book", Book, False)]),
    "GetBook": ([("id", I, False)], [("book", Book, False)]),
    "UpdateBook": ([("id", I, False), ("title", S, True), ("year", I, True), ("price", D, True)],
                   [("book", Book, False)]),
    "DeleteBook": ([("id", I, False)], [("deleted", B, False)]),
    "ListBooks": ([("author", S, True), ("availableOnly", B, True)], [("books", BookList, False)]),
    "LendBook": ([("bookId", I, False), ("member", S, False)], [("loan", Loan, False)]),
    "ReturnBook": ([("loanId", I, False)], [("book", Book, False)]),
}
TYPES = """
  <xsd:complexType name="Author"><xsd:sequence>
    <xsd:element name="name" type="xsd:string"/>
    <xsd:element name="born" type="xsd:int" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="AuthorList"><xsd:sequence>
    <xsd:element name="author" type="tns:Author" maxOccurs="unbounded"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="TagList"><xsd:sequence>
    <xsd:element name="tag" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="Book"><xsd:sequence>
    <xsd:element name="id" type="xsd:int" minOccurs="0"/>
    <xsd:element name="isbn" type="xsd:string"/>
    <xsd:element name="title" type="xsd:string"/>
    <xsd:element name="authors" type="tns:AuthorList"/>
    <xsd:element name="year" type="xsd:int" minOccurs="0"/>
    <xsd:element name="tags" type="tns:TagList" minOccurs="0"/>
    <xsd:element name="price" type="xsd:decimal" minOccurs="0"/>
    <xsd:element name="available" type="xsd:boolean" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="BookList"><xsd:sequence>
    <xsd:element name="book" type="tns:Book" minOccurs="0" maxOccurs="unbounded"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="Loan"><xsd:sequence>
    <xsd:element name="loanId" type="xsd:int"/>
    <xsd:element name="bookId" type="xsd:int"/>
    <xsd:element name="member" type="xsd:string"/>
    <xsd:element name="due" type="xsd:date"/>
  </xsd:sequence></xsd:complexType>"""


def wsdl(address):
    def ref(t):
        return f"xsd:{t.name}" if t in (S, I, B, D, DATE) else f"tns:{t.name}"

    def wrapper(name, params):
        items = "".join(f'<xsd:element name="{n}" type="{ref(t)}"{" minOccurs=\"0\"" if opt else ""}/>'
                        for n, t, opt in params)
        body = f"<xsd:complexType><xsd:sequence>{items}</xsd:sequence></xsd:complexType>"
        return f'  <xsd:element name="{name}">{body}</xsd:element>'

    elements, messages, port, binding = [], [], [], []
    for op, (ins, outs) in OPS.items():
        elements += [wrapper(op, ins), wrapper(op + "Response", outs)]
        messages += [f'<message name="{op}Request"><part name="parameters" element="tns:{op}"/></message>',
                     f'<message name="{op}Response"><part name="parameters" element="tns:{op}Response"/></message>']
        port.append(f'<operation name="{op}"><input message="tns:{op}Request"/>'
                    f'<output message="tns:{op}Response"/></operation>')
        binding.append(f'<operation name="{op}"><soap:operation soapAction="{TNS}/{op}" style="document"/>'
                       '<input><soap:body use="literal"/></input>'
                       '<output><soap:body use="literal"/></output></operation>')
    nl = "\n  "
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:tns="{TNS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" name="LibraryService" targetNamespace="{TNS}">
 <types>
  <xsd:schema targetNamespace="{TNS}" elementFormDefault="qualified">{TYPES}
{nl.join(elements)}
  </xsd:schema>
 </types>
 {nl.join(messages)}
 <portType name="LibraryPortType">
  {nl.join(port)}
 </portType>
 <binding name="LibraryBinding" type="tns:LibraryPortType">
  <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
  {nl.join(binding)}
 </binding>
 <service name="LibraryService">
  <port name="LibraryPort" binding="tns:LibraryBinding"><soap:address location="{address}"/></port>
 </service>
</definitions>
""".encode()


def operation(func):
    ins, outs = OPS[func.__name__]
    return soap_operation(
        input_params=[OperationParameter(n, t, required=not opt) for n, t, opt in ins],
        output_params=[OperationParameter(n, t, required=not opt) for n, t, opt in outs],
        soap_action=f"{TNS}/{func.__name__}",
    )(func)


class Accounts(UsernameTokenValidator):
    def get_password(self, username):
        return ACCOUNTS.get(username)


class Library(SoapService):
    __service_name__ = "LibraryService"
    __tns__ = TNS

    def __init__(self):
        self.books, self.loans = {}, {}
        self.book_ids, self.loan_ids = itertools.count(1), itertools.count(1)

    def _book(self, book_id):
        if book_id not in self.books:
            raise SoapFault("Client", f"book {book_id} not found")
        return self.books[book_id]

    @operation
    def AddBook(self, book):
        if not re.fullmatch(r"\d{9}[\dX]|\d{13}", book.get("isbn") or ""):
            raise SoapFault("Client", f"invalid isbn: {book.get('isbn')!r}")
        if not (book.get("title") or "").strip():
            raise SoapFault("Client", "title is required")
        if any(b["isbn"] == book["isbn"] for b in self.books.values()):
            raise SoapFault("Client", f"a book with isbn {book['isbn']} exists")
        book = dict(book, id=next(self.book_ids), available=True)
        self.books[book["id"]] = book
        return {"book": book}

    @operation
    def GetBook(self, id):
        return {"book": self._book(id)}

    @operation
    def UpdateBook(self, id, title=None, year=None, price=None):
        book = self._book(id)
        if title is not None and not title.strip():
            raise SoapFault("Client", "title is required")
        book.update({k: v for k, v in (("title", title), ("year", year), ("price", price)) if v is not None})
        return {"book": book}

    @operation
    def DeleteBook(self, id):
        self._book(id)
        if any(loan["bookId"] == id for loan in self.loans.values()):
            raise SoapFault("Client", f"book {id} is on loan")
        del self.books[id]
        return {"deleted": True}

    @operation
    def ListBooks(self, author=None, availableOnly=None):
        found = [b for b in self.books.values()
                 if (not author or any(a["name"] == author for a in b.get("authors") or []))
                 and (not availableOnly or b["available"])]
        return {"books": found}

    @operation
    def LendBook(self, bookId, member):
        book = self._book(bookId)
        if not book["available"]:
            raise SoapFault("Client", f"book {bookId} is on loan")
        book["available"] = False
        loan = {"loanId": next(self.loan_ids), "bookId": bookId, "member": member, "due": "2030-01-31"}
        self.loans[loan["loanId"]] = loan
        return {"loan": loan}

    @operation
    def ReturnBook(self, loanId):
        loan = self.loans.pop(loanId, None)
        if loan is None:
            raise SoapFault("Client", f"loan {loanId} not found")
        book = self._book(loan["bookId"])
        book["available"] = True
        return {"book": book}


class Handler(WSGIRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")


if __name__ == "__main__":
    port = int(sys.argv[1])
    url = f"http://127.0.0.1:{port}/"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plain HTTP with PasswordText: a legacy service's choice, on loopback
        app = SoapApplication(wsdl(url), url, security_validator=Accounts(), allow_plaintext_credentials=True)
    app.register(Library())
    with make_server("127.0.0.1", port, WsgiSoapApp(app), handler_class=Handler) as httpd:
        print(f"serving {url}?wsdl", flush=True)
        httpd.serve_forever()
'''


def start_server(stack: ExitStack, work: Path) -> str:
    """A fresh service (a new process: an empty library) in `work`; its URL once its WSDL answers."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "server.py").write_text(SERVER)
    port = free_port()
    env = clean_env(work) | {"LIBRARY_USER": USER, "LIBRARY_PASSWORD": PASSWORD}
    log = work / "server.log"
    proc = start(stack, [str(BIN / "python"), "server.py", str(port)], log, cwd=work, env=env,
                 stdin=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    wait_http(url + "?wsdl", proc, log)
    return url


# --- the consumer: a librarian's command line over zeep ---------------------------------------------

CLIENT = r'''"""library: a librarian's command line over the library's SOAP service, with zeep.

    python library.py URL [--anonymous] COMMAND ...

It reads the WSDL at URL?wsdl and calls the operation at URL (the binding's address set to it, as behind a
gateway). The account from LIBRARY_USER / LIBRARY_PASSWORD, sent as a WS-Security UsernameToken. Prints the
answer as JSON; exit 0 done, 1 the service answered a SOAP Fault, 2 a usage error."""
import argparse
import json
import os
import sys

from zeep import Client
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.wsse.username import UsernameToken


def author(text):
    name, _, born = text.partition(":")
    return {"name": name, "born": int(born) if born else None}


def main():
    p = argparse.ArgumentParser(prog="library")
    p.add_argument("url")
    p.add_argument("--anonymous", action="store_true", help="send no UsernameToken")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("operations")
    a = sub.add_parser("add")
    a.add_argument("--isbn", required=True)
    a.add_argument("--title", required=True)
    a.add_argument("--author", action="append", type=author, required=True)
    a.add_argument("--year", type=int)
    a.add_argument("--tag", action="append")
    a.add_argument("--price")
    sub.add_parser("get").add_argument("id", type=int)
    u = sub.add_parser("update")
    u.add_argument("id", type=int)
    u.add_argument("--title")
    u.add_argument("--year", type=int)
    u.add_argument("--price")
    sub.add_parser("delete").add_argument("id", type=int)
    ls = sub.add_parser("list")
    ls.add_argument("--author")
    ls.add_argument("--available", action="store_true")
    lend = sub.add_parser("lend")
    lend.add_argument("id", type=int)
    lend.add_argument("member")
    sub.add_parser("return").add_argument("loan", type=int)
    args = p.parse_args()

    wsse = None if args.anonymous else UsernameToken(os.environ["LIBRARY_USER"], os.environ["LIBRARY_PASSWORD"])
    client = Client(args.url + "?wsdl", wsse=wsse)
    service = client.create_service("{urn:harness:library}LibraryBinding", args.url)
    try:
        if args.cmd == "operations":
            binding = client.wsdl.bindings["{urn:harness:library}LibraryBinding"]
            result = sorted(binding._operations)
        elif args.cmd == "add":
            book = {"isbn": args.isbn, "title": args.title, "authors": {"author": args.author}, "year": args.year,
                    "tags": {"tag": args.tag} if args.tag else None, "price": args.price}
            result = service.AddBook(book=book)
        elif args.cmd == "get":
            result = service.GetBook(id=args.id)
        elif args.cmd == "update":
            result = service.UpdateBook(id=args.id, title=args.title, year=args.year, price=args.price)
        elif args.cmd == "delete":
            result = service.DeleteBook(id=args.id)
        elif args.cmd == "list":
            result = service.ListBooks(author=args.author, availableOnly=args.available or None) or []
        elif args.cmd == "lend":
            result = service.LendBook(bookId=args.id, member=args.member)
        elif args.cmd == "return":
            result = service.ReturnBook(loanId=args.loan)
    except Fault as fault:
        print(f"fault {fault.code}: {fault.message}", file=sys.stderr)
        return 1
    print(json.dumps(serialize_object(result), default=str, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


# --- the session -------------------------------------------------------------------------------------


class Session:
    """Runs the librarian's CLI against one URL, each command a "test" of its own."""

    def __init__(self, url: str, work: Path):
        self.url = url
        self.work = work
        self.log = work / "session.log"
        self.env = clean_env(work) | {"LIBRARY_USER": USER, "LIBRARY_PASSWORD": PASSWORD}
        self.results: list[dict] = []

    def run(self, *args: str, expect: int = 0, env: dict | None = None) -> object:
        shown = "library " + " ".join(args)
        argv = [str(BIN / "python"), "library.py", self.url, *args]
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ {shown}\n".encode())
            try:
                done = subprocess.run(
                    argv, cwd=self.work, env=self.env | (env or {}), capture_output=True, timeout=STEP_SECONDS,
                    start_new_session=True, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as e:
                code, out, err = -1, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
            log.write(out + err + f"(exit {code})\n".encode())
        result = {"command": shown, "exit": code, "expect": expect, "ok": code == expect}
        result["seconds"] = round(time.monotonic() - t, 1)
        if code != expect:
            result["output"] = (out + err).decode(errors="replace")[-600:]
        self.results.append(result)
        print(f"  {'ok  ' if result['ok'] else 'FAIL'} {shown} -> {code}", flush=True)
        try:
            return json.loads(out) if code == 0 else None
        except ValueError:
            return None

    def counts(self) -> dict:
        passed = sum(r["ok"] for r in self.results)
        return {
            "tests": len(self.results),
            "passed": passed,
            "failed": len(self.results) - passed,
            "errors": 0,
            "skipped": 0,
            "failing": [r["command"] for r in self.results if not r["ok"]],
            "commands": self.results,
        }


MISSING = "999"


def run_session(url: str, work: Path) -> dict:
    """The librarian's session against the service at `url` (see the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "library.py").write_text(CLIENT)
    s = Session(url, work)
    r = s.run

    def id_of(answer: object, key: str = "id") -> str:
        return str(answer[key]) if isinstance(answer, dict) and key in answer else MISSING

    r("operations")
    r("list")
    clrs = id_of(r("add", "--isbn", "9780262033848", "--title", "Introduction to Algorithms",
                   "--author", "Thomas H. Cormen:1956", "--author", "Charles E. Leiserson", "--year", "2009",
                   "--tag", "algorithms", "--tag", "textbook", "--price", "89.95"))  # fmt: skip
    sicp = id_of(r("add", "--isbn", "9780262510875", "--title", "Structure and Interpretation of Computer Programs",
                   "--author", "Harold Abelson:1947", "--year", "1996"))  # fmt: skip
    r("add", "--isbn", "020189683X", "--title", "The Art of Computer Programming, Vol. 1",
      "--author", "Donald E. Knuth:1938", "--tag", "classic")  # fmt: skip
    r("add", "--isbn", "9780262033848", "--title", "CLRS again", "--author", "T. Cormen", expect=1)
    r("add", "--isbn", "12-34", "--title", "Bad ISBN", "--author", "Nobody", expect=1)
    r("add", "--isbn", "9780131103627", "--title", " ", "--author", "Brian W. Kernighan", expect=1)
    r("get", clrs)
    r("get", MISSING, expect=1)
    r("update", clrs, "--price", "79.50")
    r("update", sicp, "--title", "SICP (2nd edition)", "--year", "1996")
    r("update", sicp, "--title", " ", expect=1)
    r("update", MISSING, "--year", "2000", expect=1)
    r("list")
    r("list", "--author", "Harold Abelson")
    r("list", "--author", "Nobody Wrote This")
    loan = id_of(r("lend", clrs, "member-1042"), "loanId")
    r("lend", clrs, "member-2077", expect=1)
    r("lend", MISSING, "member-1042", expect=1)
    r("list", "--available")
    r("delete", clrs, expect=1)  # on loan
    r("return", loan)
    r("return", loan, expect=1)
    r("delete", clrs)
    r("get", clrs, expect=1)
    r("delete", clrs, expect=1)
    r("list", env={"LIBRARY_PASSWORD": "not-the-password"}, expect=1)
    r("--anonymous", "list", expect=1)
    r("list")
    return s.counts()


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the librarian's password where the name says
    password, else a placeholder."""
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        args += ["--secret", f"{name}={PASSWORD if 'password' in name.lower() else 'x'}"]
    return args


def secrets_on_disk(out: Path) -> list[str]:
    """Every file the recorder wrote (the pact, its states, kept bodies) that holds the password."""
    files = [p for p in out.rglob(f"{CONSUMER}-{PROVIDER}*") if p.is_file()]
    files += [p for d in out.glob(f"{CONSUMER}-{PROVIDER}*") if d.is_dir() for p in d.rglob("*") if p.is_file()]
    return sorted({str(p.relative_to(out)) for p in files if PASSWORD in p.read_text(errors="replace")})


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_server(stack, work / "direct" / "server")
            direct_run = run_session(server, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_server(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url + "/", out / "session")
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    leaked = secrets_on_disk(out)
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_server(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server.rstrip("/"), work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh service
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_server(stack, work / "verify2" / "server")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server.rstrip("/"), work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        shown = " ".join(run["args"]).replace(PASSWORD, "****")
        print(f"verify run {n}: exit {run['exit']}  ({shown})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps gave the same exit code both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    print(f"the librarian's password in clear in: {', '.join(leaked) or 'none of the files the recorder wrote'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "soapbar": SOAPBAR,
        "zeep": ZEEP,
        "consumer": "a librarian's command line over zeep, a 31-step session",
        "verify_args": [a.replace(PASSWORD, "****") for a in args],
        "verify_runs": [run | {"args": [a.replace(PASSWORD, "****") for a in run["args"]]} for run in runs],
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secret_in_clear": leaked,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("soap", __doc__, phases, sys.argv[1:], setup))
