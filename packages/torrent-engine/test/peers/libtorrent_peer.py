#!/usr/bin/python3
"""A libtorrent peer (seeder or leecher) for loopback interop tests, driven by libtorrent.ts.

Usage: /usr/bin/python3 libtorrent_peer.py '<json options>'
  (the python3 first on PATH lacks the libtorrent module; Debian's /usr/bin/python3 has it)

Options (all optional except save_path and one of torrent/magnet):
  torrent        path of a .torrent file
  magnet         a magnet URI (metadata then comes from peers, BEP 9)
  save_path      folder holding (seeder) or receiving (leecher) the torrent's root file/folder
  seed_mode      trust the data without hashing it first (default False: check existing data)
  upload_limit   bytes/s, 0 = unlimited; applies to loopback peers too (see peer class below)
  download_limit bytes/s, 0 = unlimited
  tick_interval  ms between libtorrent's ticks (default 500); rate limits hand out quota per tick,
                 so a capped peer sends in bursts of that period; a shorter tick is a smoother link
  peers          [[host, port], ...] to connect to once the torrent is added
  listen         listen interface, default "127.0.0.1:0" (the OS picks the port; we report it)
  encryption     "enabled" (libtorrent's default: tries MSE, falls back to plain), "disabled", "forced"
  dht            enable the DHT (default False); dht_bootstrap [[host, port], ...]
  trackers       extra announce URLs to add
  progress_ms    period of progress lines, default 250

Output: JSON lines on stdout, one event each:
  {"event":"listening","port":N}  {"event":"listening_udp","port":N} (DHT port)  {"event":"added","info_hash":hex}  {"event":"metadata"}
  {"event":"checked"}  {"event":"progress",...stats}  {"event":"finished"}  {"event":"hash_failed","piece":i}
  {"event":"peer_connected"|"peer_disconnected"|"peer_banned","ip":..,"port":..,"error":..}
  {"event":"error","message":..}  {"event":"stats",...stats} (on quit or SIGTERM, last line)
Input: JSON lines on stdin: {"cmd":"connect","host":h,"port":p}, {"cmd":"stats"}, {"cmd":"quit"},
  {"cmd":"upload_limit","value":bytes_per_s}, {"cmd":"pause"}, {"cmd":"resume"}.
"""
import json
import os
import queue
import signal
import sys
import threading
import time

import libtorrent as lt

out_lock = threading.Lock()


def emit(event, **fields):
    fields["event"] = event
    with out_lock:
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()


def make_settings(opts):
    enc = {"enabled": lt.enc_policy.enabled, "disabled": lt.enc_policy.disabled,
           "forced": lt.enc_policy.forced}[opts.get("encryption", "enabled")]
    dht = bool(opts.get("dht", False))
    settings = {
        "listen_interfaces": opts.get("listen", "127.0.0.1:0"),
        # Several harness peers share 127.0.0.1: without this, libtorrent keeps one per IP.
        "allow_multiple_connections_per_ip": True,
        # uTP between loopback peers crawls (its congestion control sees no loss, only delay); TCP only.
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_tcp": True,
        "enable_incoming_tcp": True,
        # Never leave loopback: no DHT (unless asked, with loopback bootstrap), LSD, UPnP, NAT-PMP.
        "enable_dht": dht,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": ",".join("%s:%d" % (h, p) for h, p in opts.get("dht_bootstrap", [])),
        # The DHT keeps one node per /24 by default: every loopback node would count as one.
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "upload_rate_limit": int(opts.get("upload_limit", 0)),
        "download_rate_limit": int(opts.get("download_limit", 0)),
        "tick_interval": int(opts.get("tick_interval", 500)),
        "out_enc_policy": enc,
        "in_enc_policy": enc,
        "user_agent": "dream-harness/libtorrent-" + lt.__version__,
        "alert_mask": (lt.alert.category_t.error_notification
                       | lt.alert.category_t.status_notification
                       | lt.alert.category_t.storage_notification
                       | lt.alert.category_t.peer_notification
                       | lt.alert.category_t.connect_notification
                       | lt.alert.category_t.tracker_notification),
        # A test torrent is small and alone: do not wait on the queueing logic.
        "active_downloads": -1,
        "active_seeds": -1,
        "active_limit": -1,
    }
    return settings


def all_peers_global_class(ses):
    """Put every IP in the global peer class.

    libtorrent's default peer-class filter puts loopback and LAN addresses in the local class, which
    has no rate limit, so upload_rate_limit would not apply to loopback peers at all.
    """
    f = lt.ip_filter()
    flag = 1 << lt.session.global_peer_class_id
    f.add_rule("0.0.0.0", "255.255.255.255", flag)
    f.add_rule("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", flag)
    ses.set_peer_class_filter(f)


def stats_of(handle):
    st = handle.status()
    return {
        "progress": st.progress,
        "state": str(st.state),
        "is_seeding": st.is_seeding,
        "is_finished": st.is_finished,
        "has_metadata": st.has_metadata,
        "uploaded": st.total_payload_upload,
        "downloaded": st.total_payload_download,
        "total_done": st.total_done,
        "total_wanted": st.total_wanted,
        "upload_rate": st.upload_payload_rate,
        "download_rate": st.download_payload_rate,
        "peers": st.num_peers,
        "num_pieces": st.num_pieces,
        "failed_bytes": st.total_failed_bytes,
        "redundant_bytes": st.total_redundant_bytes,
    }


def endpoint(alert):
    try:
        ip, port = alert.endpoint
        return {"ip": str(ip), "port": int(port)}
    except Exception:  # some alerts carry no endpoint
        return {}


def main():
    opts = json.loads(sys.argv[1])
    ses = lt.session(make_settings(opts))
    all_peers_global_class(ses)

    if opts.get("torrent"):
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(opts["torrent"])
    elif opts.get("magnet"):
        atp = lt.parse_magnet_uri(opts["magnet"])
    else:
        raise SystemExit("need torrent or magnet")
    atp.save_path = os.path.abspath(opts["save_path"])
    flags = atp.flags
    # Not paused, not auto-managed: a torrent that is not auto-managed but paused never starts.
    flags &= ~lt.torrent_flags.paused
    flags &= ~lt.torrent_flags.auto_managed
    if opts.get("seed_mode"):
        flags |= lt.torrent_flags.seed_mode
    if not opts.get("dht", False):
        flags |= lt.torrent_flags.disable_dht
    flags |= lt.torrent_flags.disable_lsd
    atp.flags = flags
    for url in opts.get("trackers", []):
        atp.trackers = list(atp.trackers) + [url]
    handle = ses.add_torrent(atp)
    emit("added", info_hash=str(handle.info_hashes().v1))
    for host, port in opts.get("peers", []):
        handle.connect_peer((host, int(port)))

    commands = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            line = line.strip()
            if line:
                try:
                    commands.put(json.loads(line))
                except ValueError:
                    emit("error", message="bad command line: " + line)
        commands.put({"cmd": "quit"})  # stdin closed: the parent is gone

    threading.Thread(target=read_stdin, daemon=True).start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())

    progress_every = opts.get("progress_ms", 250) / 1000.0
    next_progress = 0.0
    finished = False
    listening = False
    listening_udp = False
    while not stopping.is_set():
        ses.wait_for_alert(50)
        for a in ses.pop_alerts():
            if isinstance(a, lt.listen_succeeded_alert):
                if a.socket_type == lt.socket_type_t.tcp and not listening:
                    listening = True
                    emit("listening", port=int(a.port), address=str(a.address))
                elif a.socket_type == lt.socket_type_t.udp and not listening_udp:
                    # The DHT (when enabled) answers on this UDP port.
                    listening_udp = True
                    emit("listening_udp", port=int(a.port), address=str(a.address))
            elif isinstance(a, lt.listen_failed_alert):
                emit("error", message="listen failed: " + a.message())
            elif isinstance(a, lt.metadata_received_alert):
                emit("metadata")
            elif isinstance(a, lt.torrent_checked_alert):
                emit("checked")
            elif isinstance(a, lt.hash_failed_alert):
                emit("hash_failed", piece=int(a.piece_index))
            elif isinstance(a, lt.peer_ban_alert):
                emit("peer_banned", **endpoint(a))
            elif isinstance(a, lt.peer_connect_alert):
                emit("peer_connected", **endpoint(a))
            elif isinstance(a, lt.peer_disconnected_alert):
                emit("peer_disconnected", error=a.error.message(), **endpoint(a))
            elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert, lt.metadata_failed_alert)):
                emit("error", message=a.message())
            elif isinstance(a, lt.tracker_error_alert):
                emit("tracker_error", message=a.message())
            elif isinstance(a, lt.tracker_reply_alert):
                emit("tracker_reply", peers=int(a.num_peers))
        while not commands.empty():
            cmd = commands.get()
            name = cmd.get("cmd")
            if name == "connect":
                handle.connect_peer((cmd["host"], int(cmd["port"])))
            elif name == "stats":
                emit("stats", **stats_of(handle))
            elif name == "upload_limit":
                ses.apply_settings({"upload_rate_limit": int(cmd["value"])})
            elif name == "pause":
                handle.pause()
            elif name == "resume":
                handle.resume()
            elif name == "quit":
                stopping.set()
        if stopping.is_set():
            break
        st = handle.status()
        # A seeder whose data checked complete never gets torrent_finished_alert: watch the state.
        if not finished and st.has_metadata and (st.is_finished or st.is_seeding):
            finished = True
            emit("finished", **stats_of(handle))
        now = time.monotonic()
        if now >= next_progress:
            next_progress = now + progress_every
            emit("progress", **stats_of(handle))
    emit("stats", **stats_of(handle))
    # Leave without waiting for tracker "stopped" announces (the tracker may already be gone).
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
