#!/usr/bin/env python3
"""Helpers of bench/run: request lists with correctness checks, wrk output,
and the results (table, markdown, JSON, goals). Standard library only.

    bench.py free-port
    bench.py wait-ready URL TIMEOUT_S          (prints milliseconds to the first 200)
    bench.py prepare --base URL --admin-token T [--subtree-token T] --out DIR ...
    bench.py signin-check --base URL --login L --password P
    bench.py wrk-result FILE                   (the BENCH_RESULT of a wrk run, checked)
    bench.py report --dir DIR --backend B --results DIR [--quick]
"""

import argparse
import json
import os
import random
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# Fallbacks for the vocabulary of crates/kabinet-service/src/demo.rs; the
# arrays are read from that file when it is there, so the two stay in step.
FIRST = ["Альфа", "Вектор", "Гранит", "Дельта", "Импульс", "Кристалл", "Лидер", "Меридиан",
         "Новые", "Омега", "Прогресс", "Ромашка", "Северный", "Сигма", "Техно", "Уральский",
         "Феникс", "Цифровой", "Экспресс", "Южный", "Global", "New", "Smart", "Blue"]
SECOND = ["Связь", "Телеком", "Логистик", "Строй", "Сервис", "Трейд", "Консалт", "Медиа",
          "Системы", "Решения", "Энерго", "Фарм", "Агро", "Финанс", "Девелопмент", "Маркет",
          "Ways", "Company", "Networks", "Systems", "Software", "Group", "Капитал", "Проект"]
REGIONS = ["Москва", "Московская область", "Санкт-Петербург", "Ленинградская область",
           "Новосибирская область", "Свердловская область", "Республика Татарстан",
           "Нижегородская область", "Краснодарский край", "Ростовская область",
           "Приморский край", "Самарская область"]
AREA_CODES = ["495", "498", "812", "813", "383", "343", "843", "831", "861", "863", "423", "846"]

# Deep page of the list scenario: page 1,000 of 50.
DEEP_OFFSET = 49_950
PAGE = 50


class Failure(Exception):
    """A correctness problem: bench/run stops with this message."""


def fail(message):
    raise Failure(message)


# --- vocabulary -------------------------------------------------------------

def demo_arrays(repo):
    """FIRST, SECOND, REGIONS and AREA_CODES as demo.rs has them."""
    path = os.path.join(repo, "crates", "kabinet-service", "src", "demo.rs")
    try:
        source = open(path, encoding="utf-8").read()
    except OSError:
        return FIRST, SECOND, REGIONS, AREA_CODES

    def array(name, fallback, first_of_tuple=False):
        match = re.search(r"const %s: \[[^\]]*\] = \[(.*?)\];" % name, source, re.S)
        if not match:
            return fallback
        body = match.group(1)
        if first_of_tuple:
            values = re.findall(r'\(\s*"([^"]*)"', body)
        else:
            values = re.findall(r'"([^"]*)"', body)
        return values or fallback

    return (array("FIRST", FIRST), array("SECOND", SECOND),
            array("REGIONS", REGIONS, first_of_tuple=True), array("AREA_CODES", AREA_CODES))


def fragments(words):
    """Every 3-5 letter lowercase substring of the words, Cyrillic and Latin."""
    out = set()
    for word in words:
        word = word.lower()
        for length in (3, 4, 5):
            for start in range(0, len(word) - length + 1):
                out.add(word[start:start + length])
    return sorted(out)


# --- HTTP -------------------------------------------------------------------

def call(base, path, token=None, method="GET", body=None, headers=None):
    """(status, headers, parsed JSON or text) of one request."""
    request = urllib.request.Request(base + path, method=method)
    request.add_header("Accept", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, data=data, timeout=60) as response:
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, dict(error.headers), error.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, answer_headers, json.loads(text)
    except ValueError:
        return status, answer_headers, text


def expect(base, path, token, what):
    status, headers, body = call(base, path, token)
    if status != 200:
        fail(f"{what}: GET {path} answered {status}: {str(body)[:300]}")
    return headers, body


def page(base, path, token, what):
    _, body = expect(base, path, token, what)
    if not isinstance(body, dict) or not isinstance(body.get("items"), list) \
            or not isinstance(body.get("total"), int):
        fail(f"{what}: GET {path} is not a page of items with a total: {str(body)[:300]}")
    return body


def q(value):
    return urllib.parse.quote(value, safe="")


def digits_of(phone):
    return re.sub(r"\D", "", phone or "")


# --- prepare ----------------------------------------------------------------

def deep_offset(base, token, region, first_page, companies, regions):
    """Page 1,000 (offset 49,950), or the deepest full page that exists when
    the region holds fewer companies: from the exact total where the list
    gives one, else probing down from an estimate."""
    if first_page.get("total_exact", True):
        return max(0, min(DEEP_OFFSET, (first_page["total"] - PAGE) // PAGE * PAGE))
    offset = min(DEEP_OFFSET, int(companies / regions * 0.8) // PAGE * PAGE)
    while offset > 0:
        body = page(base, f"/api/v1/companies?region={q(region)}&sort=name&limit={PAGE}"
                          f"&offset={offset}", token, "deep page")
        if len(body["items"]) == PAGE:
            return offset
        offset = offset // 2 // PAGE * PAGE
    return 0


def prepare(args):
    """Writes the request lists of every scenario into --out and checks a sample
    of each against the running server; meta.json holds the id range."""
    rng = random.Random(args.seed)
    base, admin = args.base, args.admin_token
    first, second, regions, area_codes = demo_arrays(args.repo)
    os.makedirs(args.out, exist_ok=True)

    def write(name, paths):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write("\n".join(paths) + "\n")

    # The id range of the demo companies (the provider is the lowest id).
    newest = page(base, "/api/v1/companies?sort=id&dir=desc&limit=1", admin, "id range")
    oldest = page(base, "/api/v1/companies?sort=id&dir=asc&limit=2", admin, "id range")
    if newest["total"] < 2 or len(oldest["items"]) < 2:
        fail(f"the database holds {newest['total']} companies; run `kabinet demo` first")
    provider = oldest["items"][0]
    if not provider.get("is_provider"):
        fail(f"the lowest company id {provider['id']} is not the provider")
    id_min = oldest["items"][1]["id"]
    id_max = newest["items"][0]["id"]
    # Totals of company lists are capped (`total_exact: false` past 1,000);
    # the demo's ids are consecutive, so the range tells the size.
    companies = id_max - id_min + 1
    if companies < args.companies:
        fail(f"the database holds {companies} demo companies (ids {id_min}..{id_max}), fewer "
             f"than the {args.companies} asked for; remove the cached dataset and run again")

    # 1. Search by a fragment of a company name.
    search = fragments(first + second)
    write("search.txt", [f"/api/v1/companies?q={q(f)}&limit=50" for f in search])
    for fragment in rng.sample(search, min(8, len(search))):
        body = page(base, f"/api/v1/companies?q={q(fragment)}&limit=50", admin, "search")
        if not body["items"]:
            fail(f"search: ?q={fragment} found nothing, though every demo name holds a "
                 f"vocabulary word")
        for item in body["items"]:
            if fragment not in json.dumps(item, ensure_ascii=False).lower():
                fail(f"search: ?q={fragment} returned company {item['id']} "
                     f"({item.get('name')!r}) without the fragment")

    # 2. Search by phone digits: 4-7 digits of real phones (from the area code,
    # or from the number after it) and of area codes followed by random digits.
    sample = []
    for _ in range(4):
        offset = rng.randrange(0, max(1, companies - 200))
        body = page(base, f"/api/v1/companies?sort=id&limit=200&offset={offset}", admin, "phones")
        sample += [digits_of(c.get("phone"))[-10:] for c in body["items"] if c.get("phone")]
    sample = [p for p in sample if len(p) == 10]
    if not sample:
        fail("phones: no company of the sample has a phone")
    phone_queries = set()
    while len(phone_queries) < 400:
        length = rng.randint(4, 7)
        if rng.random() < 0.5:
            number = rng.choice(sample)
            start = 0 if rng.random() < 0.6 else 3
            phone_queries.add(number[start:start + length])
        else:
            phone_queries.add(rng.choice(area_codes) +
                              "".join(rng.choice("0123456789") for _ in range(length - 3)))
    phone_queries = sorted(phone_queries)
    write("phone.txt", [f"/api/v1/companies?q={d}&limit=50" for d in phone_queries])
    for number in rng.sample(sample, min(5, len(sample))):
        digits = number[:7]
        body = page(base, f"/api/v1/companies?q={digits}&limit=50", admin, "phone search")
        if not body["items"]:
            fail(f"phone search: ?q={digits} found nothing, though a company has "
                 f"+7{number}")
        for item in body["items"]:
            values = [v for v in item.values() if isinstance(v, str)]
            values += [v for v in (item.get("phones") or []) + (item.get("inns") or [])]
            if not any(digits in digits_of(v) for v in values):
                fail(f"phone search: ?q={digits} returned company {item['id']} "
                     f"without those digits")

    # 3. Region filter, sorted by name, first page and a deep page.
    totals = {}
    lists, deep, deep_cursor = [], [], []
    for region in regions:
        path = f"/api/v1/companies?region={q(region)}&sort=name&limit={PAGE}&offset=0"
        body = page(base, path, admin, "list")
        totals[region] = body["total"]
        if body["total"] == 0:
            continue
        for item in body["items"]:
            if item.get("region") != region:
                fail(f"list: ?region={region} returned company {item['id']} of "
                     f"{item.get('region')!r}")
        lists.append(path)
        offset = deep_offset(base, admin, region, body, companies, len(regions))
        deep.append(f"/api/v1/companies?region={q(region)}&sort=name&limit={PAGE}&offset={offset}")
        # The same deep page by keyset paging: the `next` of the page
        # before it, checked to give the same companies as the offset.
        if offset >= PAGE:
            before = page(base, f"/api/v1/companies?region={q(region)}&sort=name&limit={PAGE}"
                          f"&offset={offset - PAGE}", admin, "deep page")
            cursor = before.get("next")
            if not cursor:
                fail(f"deep page: the page before offset {offset} of {region} has no next")
            path = f"/api/v1/companies?region={q(region)}&sort=name&limit={PAGE}&after={q(cursor)}"
            by_cursor = page(base, path, admin, "deep page by cursor")
            by_offset = page(base, deep[-1], admin, "deep page")
            if [i["id"] for i in by_cursor["items"]] != [i["id"] for i in by_offset["items"]]:
                fail(f"deep page: the cursor page of {region} differs from offset {offset}")
            deep_cursor.append(path)
    if not lists:
        fail("list: no company has a demo region")
    for path in rng.sample(deep, min(3, len(deep))):
        body = page(base, path, admin, "deep page")
        if not body["items"]:
            fail(f"deep page: {path} is empty")
    write("list.txt", lists)
    write("deep.txt", deep)
    write("deep_cursor.txt", deep_cursor or deep)
    # Deep pages not read before: each region at 90 % of its deep offset,
    # below every place the server remembers of it (the checks above read
    # the deep page and the one before it), read once (the walk an offset
    # costs the first time); and random offsets between half the deep
    # offset and it, which the server starts from the nearest page that
    # landed before (the list anchors), not from a page read again.
    first, spread = [], []
    for path in deep:
        stem, offset = path.rsplit("=", 1)
        offset = int(offset)
        first.append(f"{stem}={offset * 9 // 10 // PAGE * PAGE}")
    for _ in range(20000):
        stem, offset = rng.choice(deep).rsplit("=", 1)
        offset = int(offset)
        spread.append(f"{stem}={rng.randint(offset // 2 // PAGE, offset // PAGE) * PAGE}")
    write("deep_first.txt", first)
    write("deep_spread.txt", spread)
    deep_offsets = sorted({int(p.rsplit("=", 1)[1]) for p in deep})

    # 4. Company cards by random ids, as admin.
    ids = [rng.randint(id_min, id_max) for _ in range(5000)]
    write("card.txt", [f"/api/v1/companies/{i}" for i in ids])
    # ... and over 200,000 ids, more than the server remembers (16,384
    # cards): most of these are read from the database.
    write("card_spread.txt",
          [f"/api/v1/companies/{rng.randint(id_min, id_max)}" for _ in range(200_000)])
    # 8. Reads while companies change: the searches, phone searches, list
    # first pages and cards above, a quarter each, in random order (bench/run
    # edits companies beside them).
    mixed = []
    for name in ("search.txt", "phone.txt", "list.txt", "card.txt"):
        with open(os.path.join(args.out, name), encoding="utf-8") as f:
            lines = [line for line in f.read().splitlines() if line]
        mixed += [rng.choice(lines) for _ in range(1000)]
    rng.shuffle(mixed)
    write("mixed.txt", mixed)
    write("bare.txt", [f"/card/{i}" for i in ids])
    write("bare_pg.txt", [f"/pg/card/{i}" for i in ids])
    for company_id in ids[:5]:
        headers, body = expect(base, f"/api/v1/companies/{company_id}", admin, "card")
        if not isinstance(body, dict) or body.get("id") != company_id:
            fail(f"card: GET /api/v1/companies/{company_id} answered another card")
        if not any(k.lower() == "etag" for k in headers):
            fail(f"card: GET /api/v1/companies/{company_id} has no ETag")

    # ... and as benchsubtree: the ids its token may see.
    visible = []
    if args.subtree_token:
        body = page(base, "/api/v1/companies?limit=200", args.subtree_token, "benchsubtree list")
        visible = [c["id"] for c in body["items"]]
        if not visible:
            fail("benchsubtree sees no company (GET /api/v1/companies?limit=200 with its token "
                 "is empty); it should see the subtree of its reseller")
        write("subtree.txt", [f"/api/v1/companies/{i}" for i in visible])
        for company_id in rng.sample(visible, min(5, len(visible))):
            expect(base, f"/api/v1/companies/{company_id}", args.subtree_token, "benchsubtree card")
        hidden = provider["id"]
        status, _, _ = call(base, f"/api/v1/companies/{hidden}", args.subtree_token)
        if status == 200:
            fail("benchsubtree may open the provider's card; its rights should cover its "
                 "subtree only")
        visible_total = body["total"]
    else:
        visible_total = 0

    # 5. PATCH with If-Match: one round trip to be sure the API takes the body.
    target = rng.randint(id_min, id_max)
    headers, card = expect(base, f"/api/v1/companies/{target}", admin, "patch")
    etag = next(v for k, v in headers.items() if k.lower() == "etag")
    status, _, answer = call(base, f"/api/v1/companies/{target}", admin, "PATCH",
                             {"tariff": "Бизнес", "max_dialogs_per_operator": 1234},
                             {"If-Match": etag})
    if status != 200 or answer.get("max_dialogs_per_operator") != 1234:
        fail(f"patch: PATCH /api/v1/companies/{target} answered {status}: {str(answer)[:300]}")
    status, _, _ = call(base, f"/api/v1/companies/{target}", admin, "PATCH",
                        {"tariff": "Старт"}, {"If-Match": etag})
    if status != 412:
        fail(f"patch: a PATCH with a stale If-Match answered {status}, not 412")

    meta = {
        "companies": companies,
        "id_min": id_min,
        "id_max": id_max,
        "search_fragments": len(search),
        "phone_queries": len(phone_queries),
        "regions": totals,
        "deep_offsets": deep_offsets,
        "subtree_visible": visible_total,
        "subtree_ids": len(visible),
    }
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
    print(f"  {companies} companies (ids {id_min}..{id_max}); {len(search)} name fragments, "
          f"{len(phone_queries)} phone queries, {len(lists)} regions (deep offsets "
          f"{deep_offsets}), benchsubtree sees {visible_total}")


def signin_check(args):
    status, _, body = call(args.base, "/api/v1/auth/login", None, "POST",
                           {"login": args.login, "password": args.password})
    if status != 200 or not isinstance(body, dict) or "csrf_token" not in body:
        fail(f"{args.login} cannot sign in with the demo password: POST /api/v1/auth/login "
             f"answered {status}: {str(body)[:300]}")


# --- small tools ------------------------------------------------------------

def free_port(_args):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def wait_ready(args):
    """Milliseconds from now (or from --since, ns) until URL answers 200."""
    started = int(args.since) if args.since else time.time_ns()
    deadline = time.time() + float(args.timeout)
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(args.url, timeout=1) as response:
                if response.status == 200:
                    print(f"{(time.time_ns() - started) / 1e6:.1f}")
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.005)
    fail(f"{args.url} did not answer 200 within {args.timeout} s")


def once(args):
    """Every path of --paths once, one after another on one kept-alive
    connection, as JSON like wrk-result's: what a search costs the first
    time it is made (the server remembers a search's probe until the
    companies change), where the wrk runs repeat the same few hundred."""
    import http.client
    from urllib.parse import urlsplit
    where = urlsplit(args.base)
    paths = [line.strip() for line in open(args.paths, encoding="utf-8") if line.strip()]
    if not paths:
        fail(f"{args.paths} holds no path")
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    headers = {"Authorization": "Bearer " + args.token, "Accept": "application/json"}
    times, problems = [], []
    started = time.perf_counter()
    for path in paths:
        sent = time.perf_counter_ns()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append((time.perf_counter_ns() - sent) / 1000.0)
        if response.status != 200:
            problems.append(f"{path} answered {response.status}")
    elapsed = time.perf_counter() - started
    conn.close()
    times.sort()

    def percentile(share):
        return times[min(len(times) - 1, int(share * len(times)))]

    result = {"requests": len(times), "rps": len(times) / elapsed,
              "p50_us": percentile(0.50), "p99_us": percentile(0.99), "max_us": times[-1],
              "mean_us": sum(times) / len(times), "problems": problems[:5]}
    print(json.dumps(result))
    if problems:
        sys.exit(1)


def metrics(args):
    """The server's counters (`/metrics`, Prometheus text) as one JSON
    object: `name{labels}` to its value."""
    status, _, body = call(args.base, "/metrics", args.token)
    if status != 200:
        fail(f"/metrics answered {status}")
    values = {}
    for line in str(body).splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            values[name] = float(value)
        except ValueError:
            fail(f"/metrics: cannot read the line {line!r}")
    print(json.dumps(values))


def wrk_result(args):
    """The BENCH_RESULT line of a wrk run as JSON, after checking wrk's own
    error lines; exits 1 with the reason if the run had any error."""
    text = open(args.file, encoding="utf-8", errors="replace").read()
    line = next((l for l in text.splitlines() if l.startswith("BENCH_RESULT ")), None)
    if line is None:
        fail(f"{args.file}: wrk printed no BENCH_RESULT line:\n{text[-2000:]}")
    result = json.loads(line[len("BENCH_RESULT "):])
    problems = []
    for pattern in ("Socket errors", "Non-2xx or 3xx responses"):
        for l in text.splitlines():
            if l.strip().startswith(pattern):
                problems.append(l.strip())
    for key in ("errors_connect", "errors_read", "errors_write", "errors_status",
                "errors_timeout", "failures", "n412", "lost"):
        if result.get(key):
            problems.append(f"{key}={result[key]}")
    if result.get("requests", 0) == 0:
        problems.append("no request answered")
    result["problems"] = sorted(set(problems))
    print(json.dumps(result))
    if problems:
        sys.exit(1)


# --- report -----------------------------------------------------------------

SCENARIOS = [
    # key, title, ratio to bare is meaningful
    ("search", "1. search by name fragment (`?q=<3-5 letters>&limit=50`)", True),
    ("phone", "2. search by phone digits (`?q=<4-7 digits>&limit=50`)", True),
    ("list", "3. region + sort by name, first page of 50", True),
    ("deep", "3. region + sort by name, deep page (`offset`)", True),
    ("deep_cursor", "3. the same deep page by keyset (`after`)", True),
    ("deep_spread", "3. region + sort by name, random offsets from half the deep page to it", True),
    ("card", "4. company card GET, admin token (5,000 ids, read again)", True),
    ("card_spread", "4. company card GET, admin token, 200,000 ids (mostly not remembered)", True),
    ("subtree", "4. company card GET, benchsubtree token", True),
    ("patch", "5. company PATCH with If-Match", True),
    ("mixed_fields", "8. searches, phone searches, list pages and cards (a quarter each) while companies change in columns no list of them reads", True),
    ("mixed_fields_patch", "8. the company PATCHes beside them (tariff and dialog limit; one connection, paced)", False),
    ("mixed", "8. the same while half of the edits change a region or a name", True),
    ("mixed_patch", "8. the company PATCHes beside them (one connection, paced)", False),
    ("storm_signin", "6. sign-in storm: POST /auth/login (16 conns)", False),
    ("storm_card", "6. company card GET during the storm", True),
    ("bare", "7. bare axum JSON endpoint (ceiling)", False),
    # PostgreSQL only: the bare endpoint after one round trip to the
    # database (`SELECT $1`), the ceiling of a card GET that checks its
    # token there.
    ("bare_pg", "7. the same after one PostgreSQL round trip (`SELECT $1`)", True),
    # One request at a time: what a request takes without the queue.
    # Each query once, before any wrk run repeats it: the probe not yet
    # remembered (the checks of `prepare` made 8 of the searches).
    ("search_first", "1 connection, each fragment once, first time: search by name", False),
    ("phone_first", "1 connection, each query once, first time: search by phone digits", False),
    ("deep_first", "1 connection, each region once, first time: a deep page (90 % of its offset)", False),
    ("search_alone", "1 connection: search by name fragment", False),
    ("phone_alone", "1 connection: search by phone digits", False),
    ("list_alone", "1 connection: region list, first page", False),
    ("deep_alone", "1 connection: deep page (`offset`)", False),
    ("deep_cursor_alone", "1 connection: deep page (`after`)", False),
    ("card_alone", "1 connection: company card GET", False),
]


def ms(us):
    return None if us is None else us / 1000.0


def fmt_ms(us):
    return "—" if us is None else f"{us / 1000:.2f}"


def report(args):
    results = {}
    for key, _, _ in SCENARIOS:
        path = os.path.join(args.dir, key + ".json")
        try:
            results[key] = json.load(open(path))
        except (OSError, ValueError):
            pass  # the run failed; its error is in extra.json
    extra = json.load(open(os.path.join(args.dir, "extra.json"))) \
        if os.path.exists(os.path.join(args.dir, "extra.json")) else {}
    meta_path = os.path.join(args.dir, "paths", "meta.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    bare_rps = results.get("bare", {}).get("rps")

    rows = []
    for key, title, ratio in SCENARIOS:
        r = results.get(key)
        if r is None:
            rows.append({"scenario": key, "title": title, "skipped": True})
            continue
        rps = r["rps"]
        if key in ("patch", "mixed_patch", "mixed_fields_patch") and r.get("duration_s"):
            # The PATCHes alone (each thread reads a company once first).
            rps_patch = r.get("patch_ok", 0) / r["duration_s"]
        else:
            rps_patch = None
        row = {
            "scenario": key, "title": title, "requests": r["requests"], "rps": round(rps, 1),
            "p50_ms": ms(r["p50_us"]), "p99_ms": ms(r["p99_us"]), "max_ms": ms(r["max_us"]),
            "mean_ms": ms(r["mean_us"]),
            "ratio_to_bare": round(rps / bare_rps, 4) if ratio and bare_rps else None,
            "problems": r.get("problems", []),
        }
        if rps_patch is not None:
            row["patches_per_s"] = round(rps_patch, 1)
            row["patch_ok"], row["get_ok"] = r.get("patch_ok", 0), r.get("get_ok", 0)
            row["n412"] = r.get("n412", 0)
        rows.append(row)

    def by(key):
        return next((r for r in rows if r["scenario"] == key and not r.get("skipped")), None)

    # The mixed reads: how often the company epoch moved under them, and
    # what share of cards and pages memory answered meanwhile.
    mixed_rows = []
    for key in ("mixed_fields", "mixed"):
        mixed = by(key)
        if mixed is None:
            continue
        mixed_rows.append(mixed)
        edits = by(key + "_patch")
        if edits is not None:
            mixed["writes_per_s"] = edits.get("patches_per_s")
        try:
            before = json.load(open(os.path.join(args.dir, key + "_metrics_before.json")))
            after = json.load(open(os.path.join(args.dir, key + "_metrics_after.json")))
        except (OSError, ValueError):
            continue
        for memo, field in (("kabinet_company_cards_total", "cards_from_memory"),
                            ("kabinet_list_pages_total", "pages_read_before")):
            hits = after.get(memo + '{memo="hit"}', 0) - before.get(memo + '{memo="hit"}', 0)
            misses = after.get(memo + '{memo="miss"}', 0) - before.get(memo + '{memo="miss"}', 0)
            if hits + misses > 0:
                mixed[field] = round(hits / (hits + misses), 4)

    def p99(key):
        row = by(key)
        return None if row is None else row["p99_ms"]

    goals = []

    def goal(name, value, limit, ok, shown):
        goals.append({"goal": name, "value": value, "limit": limit,
                      "pass": None if value is None else bool(ok),
                      "shown": shown})

    for key, name, limit in (("search", "search p99 ≤ 25 ms", 25),
                             ("phone", "phone search p99 ≤ 25 ms", 25),
                             ("list", "list p99 ≤ 15 ms", 15),
                             ("deep", "list deep page (offset) p99 ≤ 15 ms", 15),
                             ("deep_spread", "list deep pages (random offsets) p99 ≤ 15 ms", 15),
                             ("deep_cursor", "list deep page (cursor) p99 ≤ 15 ms", 15)):
        value = p99(key)
        goal(name, value, limit, value is not None and value <= limit,
             "—" if value is None else f"{value:.2f} ms")
    card = by("card")
    value = card and card["ratio_to_bare"]
    goal("authorised company GET rps ≥ 40 % of bare", value, 0.40,
         value is not None and value >= 0.40,
         "—" if value is None else f"{value * 100:.1f} % ({card['rps']:.0f} of {bare_rps:.0f}/s)"
         + ("" if by("bare_pg") is None or by("bare_pg")["ratio_to_bare"] is None else
            f"; one PostgreSQL round trip alone leaves {by('bare_pg')['ratio_to_bare'] * 100:.1f} %"))
    signin = by("storm_signin")
    cores = os.cpu_count() or 1
    value = signin and signin["rps"]
    goal(f"sign-ins ≥ 30/s per core (≥ {30 * cores}/s on {cores})", value, 30 * cores,
         value is not None and value >= 30 * cores,
         "—" if value is None else f"{value:.1f}/s")
    value = p99("storm_signin")
    goal("sign-in p99 ≤ 250 ms", value, 250, value is not None and value <= 250,
         "—" if value is None else f"{value:.1f} ms")
    storm, idle = p99("storm_card"), p99("card")
    value = storm / idle if storm is not None and idle else None
    goal("company GET p99 during storm ≤ 2× idle", value, 2.0, value is not None and value <= 2,
         "—" if value is None else f"{value:.2f}× ({storm:.2f} vs {idle:.2f} ms)")
    rss = extra.get("vm_rss_kb")
    value = rss / 1024 if rss else None
    goal("server RSS after load ≤ 300 MB", value, 300, value is not None and value <= 300,
         "—" if value is None else f"{value:.0f} MB (peak {extra.get('vm_hwm_kb', 0) / 1024:.0f} MB)")
    value = extra.get("startup_ms")
    goal("start-up ≤ 1 s", value, 1000, value is not None and value <= 1000,
         "—" if value is None else f"{value:.0f} ms")

    document = {
        "backend": args.backend,
        "mode": "quick" if args.quick else "full",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cores": cores, "uname": " ".join(os.uname())},
        "settings": extra.get("settings", {}),
        "binary": extra.get("binary"),
        "dataset": meta,
        "demo_seconds": extra.get("demo_seconds"),
        "startup_ms": extra.get("startup_ms"),
        "vm_rss_kb": extra.get("vm_rss_kb"),
        "vm_hwm_kb": extra.get("vm_hwm_kb"),
        "vm_rss_before_storm_kb": extra.get("vm_rss_before_storm_kb"),
        "scenarios": rows,
        "goals": [{k: v for k, v in g.items() if k != "shown"} for g in goals],
        "errors": extra.get("errors", []),
    }

    table = ["| Scenario | Requests/s | p50 ms | p99 ms | max ms | vs bare |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        if row.get("skipped"):
            table.append(f"| {row['title']} | skipped | | | | |")
            continue
        rps = f"{row['rps']:.1f}"
        if "patches_per_s" in row:
            rps += f" ({row['patches_per_s']:.1f} PATCH/s)"
        ratio = "—" if row["ratio_to_bare"] is None else f"{row['ratio_to_bare'] * 100:.1f} %"
        flag = " ⚠ " + "; ".join(row["problems"]) if row["problems"] else ""
        table.append(f"| {row['title']}{flag} | {rps} | {row['p50_ms']:.2f} | "
                     f"{row['p99_ms']:.2f} | {row['max_ms']:.2f} | {ratio} |")
    goal_table = ["| Goal | Measured | Result |", "|---|---:|---|"]
    for g in goals:
        verdict = "n/a" if g["pass"] is None else ("pass" if g["pass"] else "FAIL")
        goal_table.append(f"| {g['goal']} | {g['shown']} | {verdict} |")
    settings = extra.get("settings", {})
    header = (f"## {args.backend}, {document['mode']} run, {document['date']}\n\n"
              f"{meta.get('companies', '?')} companies; wrk {settings.get('threads')} threads, "
              f"{settings.get('connections')} connections, warm-up {settings.get('warmup_s')} s, "
              f"{settings.get('duration_s')} s per scenario; {cores} cores; binary "
              f"`{extra.get('binary')}`; start-up {fmt_ms((extra.get('startup_ms') or 0) * 1000)} ms; "
              f"RSS {(extra.get('vm_rss_kb') or 0) / 1024:.0f} MB "
              f"(peak {(extra.get('vm_hwm_kb') or 0) / 1024:.0f} MB, "
              f"{(extra.get('vm_rss_before_storm_kb') or 0) / 1024:.0f} MB before the sign-in "
              f"storm)\n")
    markdown = header + "\n" + "\n".join(table) + "\n\nGoals of issue 6:\n\n" + \
        "\n".join(goal_table) + "\n"
    for mixed in mixed_rows:
        if "writes_per_s" not in mixed:
            continue
        markdown += (f"\nScenario 8 (`{mixed['scenario']}`) ran beside "
                     f"{mixed['writes_per_s']:.1f} company PATCHes a second; meanwhile memory "
                     f"answered {mixed.get('cards_from_memory', 0) * 100:.1f} % of the cards "
                     f"read (alone or on a page), and "
                     f"{mixed.get('pages_read_before', 0) * 100:.1f} % of the list pages had "
                     f"been read before at their company epoch.\n")
    if extra.get("errors"):
        markdown += "\nErrors:\n\n" + "\n".join(f"- {e}" for e in extra["errors"]) + "\n"

    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, f"latest-{args.backend}.md"), "w") as f:
        f.write(markdown)
    with open(os.path.join(args.results, f"latest-{args.backend}.json"), "w") as f:
        json.dump(document, f, ensure_ascii=False, indent=1)
    print(markdown)
    failed_goals = [g["goal"] for g in goals if g["pass"] is False]
    if failed_goals and not args.quick:
        print(f"goals not met ({args.backend}): " + "; ".join(failed_goals), file=sys.stderr)
        sys.exit(3)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("free-port").set_defaults(run=free_port)
    p = sub.add_parser("wait-ready")
    p.add_argument("url")
    p.add_argument("timeout")
    p.add_argument("--since")
    p.set_defaults(run=wait_ready)
    p = sub.add_parser("prepare")
    p.add_argument("--base", required=True)
    p.add_argument("--admin-token", required=True)
    p.add_argument("--subtree-token")
    p.add_argument("--out", required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--companies", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=prepare)
    p = sub.add_parser("signin-check")
    p.add_argument("--base", required=True)
    p.add_argument("--login", required=True)
    p.add_argument("--password", required=True)
    p.set_defaults(run=signin_check)
    p = sub.add_parser("once")
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--paths", required=True)
    p.set_defaults(run=once)
    p = sub.add_parser("metrics")
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.set_defaults(run=metrics)
    p = sub.add_parser("wrk-result")
    p.add_argument("file")
    p.set_defaults(run=wrk_result)
    p = sub.add_parser("report")
    p.add_argument("--dir", required=True)
    p.add_argument("--backend", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--quick", action="store_true")
    p.set_defaults(run=report)
    args = parser.parse_args()
    try:
        args.run(args)
    except Failure as failure:
        print(f"bench: {failure}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
