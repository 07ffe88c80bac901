#!/usr/bin/python3
"""Make a .torrent with libtorrent's create_torrent, the way qBittorrent (libtorrent 2.x) does.

Usage: make_torrent.py <json options>   (prints nothing; writes the .torrent to options["out"])
Options: source (file or folder), out, piece_length (0 = libtorrent's choice), mode
("hybrid" | "v1" | "v2"), private (bool), trackers (list of URLs), creation_date (int seconds).

Run with /usr/bin/python3: the python3 first on PATH lacks the libtorrent module.
"""
import json
import os
import sys

import libtorrent as lt


def main():
    opts = json.loads(sys.argv[1])
    source = os.path.abspath(opts["source"])
    fs = lt.file_storage()
    lt.add_files(fs, source)
    if fs.num_files() == 0:
        raise SystemExit("no files under %s" % source)
    flags = 0
    mode = opts.get("mode", "hybrid")
    if mode == "v1":
        flags |= lt.create_torrent.v1_only
    elif mode == "v2":
        flags |= lt.create_torrent.v2_only
    ct = lt.create_torrent(fs, int(opts.get("piece_length", 0)), flags)
    for tier, url in enumerate(opts.get("trackers", [])):
        ct.add_tracker(url, tier)
    if opts.get("private"):
        ct.set_priv(True)
    ct.set_creator("dream-test-harness")
    # set_piece_hashes wants the folder that contains the torrent's root name.
    lt.set_piece_hashes(ct, os.path.dirname(source))
    entry = ct.generate()
    if "creation_date" in opts:
        entry[b"creation date"] = int(opts["creation_date"])
    with open(opts["out"], "wb") as f:
        f.write(lt.bencode(entry))


if __name__ == "__main__":
    main()
