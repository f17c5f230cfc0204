#!/usr/bin/env python3
"""Grader of a Harbor task exported by swe-harness (scripts/export-harbor.ts).

Reads one pytest -rA run and grades it as the harness does (its
scripts/lib/testing/pytest.ts and grading.ts, which follow SWE-bench): per-test
statuses from the last "short test summary info" section only; each
FAIL_TO_PASS id must be PASSED/XFAIL, each PASS_TO_PASS id PASSED/XFAIL/SKIPPED;
ids match as full node ids, cut at the first whitespace, after SWE-bench's
per-repo rewrites, or as bare names inside the test files; an id matching
several tests passes only if all do, one matching nothing fails.

usage: harbor_grade.py CONFIG.json OUTPUT.log EXIT_CODE LOGS_DIR
Writes LOGS_DIR/reward.txt (1 resolved, else 0) and LOGS_DIR/report.json.
"""
import json
import re
import sys

STATUSES = ("PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS")
SEVERITY = {"PASSED": 0, "SKIPPED": 1, "XFAIL": 2, "XPASS": 3, "FAILED": 4, "ERROR": 5}
F2P_PASSING = ("PASSED", "XFAIL")
P2P_PASSING = ("PASSED", "XFAIL", "SKIPPED")
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
HEADER_RE = re.compile(r"^=+ short test summary info =+\s*$")
FINAL_INNER_RE = re.compile(
    r"^(no tests ran|\d+ [a-z]+(?: [a-z]+)*(?:, \d+ [a-z]+(?: [a-z]+)*)*) in \d+(?:\.\d+)?(?:s| seconds)(?: \([^)]*\))?$"
)
BORDERED_RE = re.compile(r"^=+ (.+?) =+\s*$")
STATUS_LINE_RE = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (.+)$")


def final_counts(line):
    t = line.strip()
    b = BORDERED_RE.match(t)
    m = FINAL_INNER_RE.match(b.group(1) if b else t)
    return m.group(1) if m else None


def node_id_length(rest):
    """Where the node id after a status word ends (pytest.ts nodeIdLength)."""
    ws = re.search(r"\s", rest)
    ws = ws.start() if ws else -1
    bracket = rest.find("[")
    if bracket < 0 or (0 <= ws < bracket):
        return len(rest) if ws < 0 else ws
    depth, weak = 0, -1
    for j in range(bracket, len(rest)):
        c = rest[j]
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth <= 0:
                after = rest[j + 1:]
                if after == "" or after.startswith(" - "):
                    return j + 1
                if weak < 0 and re.match(r"\s", after):
                    weak = j + 1
    if weak >= 0:
        return weak
    dash = rest.find(" - ")
    return dash if dash >= 0 else len(rest)


def parse(text):
    """Per-test statuses of the last short test summary section; the worse status wins for a repeated id."""
    lines = ANSI_RE.sub("", text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header = max((i for i, l in enumerate(lines) if HEADER_RE.match(l)), default=-1)
    if header < 0:
        return {}
    end = len(lines)
    for i in range(len(lines) - 1, header, -1):
        if final_counts(lines[i]) is not None:
            end = i
            break
    tests, seen_other = {}, False
    for raw in lines[header + 1:end]:
        m = STATUS_LINE_RE.match(raw.rstrip())
        if not m:
            continue
        status, rest = m.group(1), m.group(2)
        if status != "PASSED":
            seen_other = True
        elif seen_other:
            continue  # part of a multi-line message, not a status line
        if status == "SKIPPED" and re.match(r"^\[(\d+)\] ", rest):
            continue  # "SKIPPED [3] file:line: reason": a count, no node id
        # A PASSED line never carries a message: everything after the word is the id.
        node = (rest if status == "PASSED" else rest[:node_id_length(rest)]).strip()
        if not node:
            continue
        if node not in tests or SEVERITY[status] > SEVERITY[tests[node]]:
            tests[node] = status
    return tests


def cut_form(i):
    m = re.search(r"\s", i)
    return i[:m.start()] if m else i


def rewrites(i):
    out = i.replace("MouseButton.LEFT", "1").replace("MouseButton.RIGHT", "3")
    m = re.match(r"^(.*?)\[(.*)\]", out)
    if m:
        option = m.group(2)
        if option.startswith("/") and not option.startswith("//") and "*" not in option:
            option = "/" + option.split("/")[-1]
        out = "%s[%s]" % (m.group(1), option)
    return out


def param_start(i):
    p = i.find("[")
    return len(i) if p < 0 else p


def components(i):
    p = param_start(i)
    parts = i[:p].split("::")
    parts[-1] += i[p:]
    return parts


def norm_path(p):
    return p[2:] if p.startswith("./") else p


def match_ids(expected, statuses, test_files):
    if expected in statuses:
        return [expected]
    ids = list(statuses)
    cut = [i for i in ids if cut_form(i) == expected]
    if cut:
        return cut
    rewritten = [i for i in ids if rewrites(cut_form(i)) != cut_form(i) and rewrites(cut_form(i)) == expected]
    if rewritten:
        return rewritten
    want = components(expected)
    if "/" in expected[:param_start(expected)] or want[0].endswith(".py"):
        return []
    files = {norm_path(f) for f in test_files}
    in_files = [i for i in ids if len(components(i)) > len(want) and (not files or norm_path(components(i)[0]) in files)]

    def tail_matches(i, last):
        tail = components(i)[-len(want):]
        return tail[:-1] == want[:-1] and last(tail[-1], want[-1])

    exact = [i for i in in_files if tail_matches(i, lambda got, exp: got == exp or cut_form(got) == exp)]
    if exact or "[" in expected:
        return exact
    return [i for i in in_files if tail_matches(i, lambda got, exp: got[:param_start(got)] == exp)]


def grade(cfg, statuses):
    def check(expected, passing):
        ok, bad = [], []
        for e in expected:
            got = [statuses[i] for i in match_ids(e, statuses, cfg["test_files"])]
            (ok if got and all(s in passing for s in got) else bad).append(e)
        return {"success": ok, "failure": bad}

    f2p = check(cfg["fail_to_pass"], F2P_PASSING)
    p2p = check(cfg["pass_to_pass"], P2P_PASSING)
    return {"resolved": not f2p["failure"] and not p2p["failure"], "fail_to_pass": f2p, "pass_to_pass": p2p}


def main():
    cfg_file, output_file, exit_code, logs = sys.argv[1:5]
    with open(cfg_file, encoding="utf-8") as f:
        cfg = json.load(f)
    with open(output_file, encoding="utf-8", errors="replace") as f:
        statuses = parse(f.read())
    report = grade(cfg, statuses)
    # As the harness: a run whose output names no test gives no verdict, so no reward.
    if not statuses:
        report["resolved"] = False
        report["note"] = "the test output names no test (pytest -rA short summary missing)"
    report.update({"instance_id": cfg["instance_id"], "exit_code": int(exit_code), "tests": statuses})
    with open(logs + "/report.json", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    with open(logs + "/reward.txt", "w", encoding="utf-8") as f:
        f.write("1\n" if report["resolved"] else "0\n")
    print("swe-harness grade: %s resolved=%s" % (cfg["instance_id"], report["resolved"]))


if __name__ == "__main__":
    main()
