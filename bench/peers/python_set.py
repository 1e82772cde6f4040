#!/usr/bin/env python3
"""The Python peer of the bench's Node baseline (bench/baseline.mjs): what a team without feedmatch
writes in Python. Read the log as text, a line at a time; find hashes, IPv4 addresses and URLs
with `re` patterns equivalent to the baseline's; look each value up in a `set` of the indicator
list; count the matches. Same rules as the baseline, so the two rows compare languages, not
semantics. Usage: python3 bench/peers/python_set.py --list LIST.txt [--max-ms N] CORPUS.log (one
JSON line). With --max-ms it stops after N ms of scanning: the rate is then over the bytes read,
and `partial` says how far it got (the bench's time budget cannot wait for a 5 MB/s peer)."""
import json
import os
import re
import resource
import sys
import time

OCT = r'(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)'
RE_IP = re.compile(r'(?<![\w.])' + OCT + r'\.' + OCT + r'\.' + OCT + r'\.' + OCT + r'(?!\.?\w)')
RE_HASH = re.compile(r'\b(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})\b')
RE_URL = re.compile(r'\b(?:[hH][tT][tT][pP][sS]?|[fF][tT][pP])://[^\x00-\x20\x7f"\'<>]*[^\x00-\x20\x7f"\'<>)\]},;.]')
CUT = re.compile(r'[/?]')


def url_listed(listed, url):
    """The baseline's urlListed: the URL, its `/` prefixes, its host and the host's parents."""
    rest = url[url.index('://') + 3:]
    rest = rest.split('#', 1)[0]
    m = CUT.search(rest)
    cut = m.start() if m else len(rest)
    host = rest[:cut].lower()
    host = host.rsplit('@', 1)[-1].split(':', 1)[0]
    if host.startswith('www.'):
        host = host[4:]
    path = rest[cut:]
    if host + path in listed:
        return True
    i = path.find('/', 1)
    while i > 0:
        if host + path[:i + 1] in listed:
            return True
        i = path.find('/', i + 1)
    d = host
    while d:
        if d in listed:
            return True
        dot = d.find('.')
        d = d[dot + 1:] if dot >= 0 else ''
    return False


def main():
    args = sys.argv[1:]
    if '--list' not in args or len(args) < 3:
        sys.stderr.write('usage: python3 bench/peers/python_set.py --list LIST.txt CORPUS.log\n')
        sys.exit(2)
    i = args.index('--list')
    list_path = args[i + 1]
    skip = {i, i + 1}
    max_ms = float('inf')
    if '--max-ms' in args:
        j = args.index('--max-ms')
        max_ms = float(args[j + 1])
        skip |= {j, j + 1}
    corpus = [a for k, a in enumerate(args) if k not in skip][0]
    t0 = time.perf_counter()
    with open(list_path, encoding='utf-8') as f:
        listed = {line.rstrip('\n') for line in f if line.strip()}
    setup = time.perf_counter() - t0
    found = {'hash': 0, 'ip': 0, 'url': 0}
    lines = 0
    t1 = time.perf_counter()
    read = 0
    deadline = t1 + max_ms / 1000
    with open(corpus, 'rb') as f:
        for raw in f:
            lines += 1
            read += len(raw)
            line = raw.decode('utf-8', 'replace')
            if lines % 4096 == 0 and time.perf_counter() > deadline:
                break
            for m in RE_HASH.finditer(line):
                if m.group(0).lower() in listed:
                    found['hash'] += 1
            for m in RE_IP.finditer(line):
                if m.group(0) in listed:
                    found['ip'] += 1
            for m in RE_URL.finditer(line):
                if url_listed(listed, m.group(0)):
                    found['url'] += 1
    scan = time.perf_counter() - t1
    size = os.path.getsize(corpus)
    out = {
        'bytes': read, 'lines': lines, 'detections': sum(found.values()), 'byType': found, 'indicators': len(listed),
        'setupMs': setup * 1000, 'scanMs': scan * 1000, 'mbPerSec': read / 1e6 / scan, 'linesPerSec': lines / scan,
        'peakRssMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if read < size:
        out['partial'] = {'bytes': read, 'share': read / size}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
