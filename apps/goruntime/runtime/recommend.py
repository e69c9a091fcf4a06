"""Version-aware GOMEMLIMIT / GOGC / GOMAXPROCS / RSS-alert recommendation.

Follows the GC guide (go.dev/doc/gc-guide): the limit is a ceiling from the
memory budget (container limit minus headroom for non-Go memory), not a usage
estimate; GOGC trades CPU for memory around the live heap; GOMAXPROCS comes
from CPU capacity, never from goroutine counts. Policy constants are named.
"""
from __future__ import annotations

import math
import re

from .model import ContainerLimits
from .signals import MIB, Signals
from .sizes import floor_mib, format_go_size, human
from .snippets import build_snippets, env_values

HEADROOM_MIN = 0.10  # GC guide: 5-10% headroom; automemlimit uses 0.9 of the limit
HEADROOM_NON_GO = 0.05  # on top of measured non-Go memory
LIMIT_GOAL_HEADROOM = 0.03  # the runtime keeps 3% below the limit itself
TARGET_GC_CPU = 0.05  # policy: aim for about 5% of CPU in GC ...
HIGH_GC_CPU = 0.10  # ... and act above 10%
MAX_GOGC = 400  # policy: beyond this, peaks grow a lot for little CPU
MIN_GOGC = 25  # policy: below this the 50% GC CPU limiter engages often
TIGHT_GOGC = 50  # policy: a limit leaving less than this is "tight"
TINY_LIMIT = 128 * MIB  # Go 1.19 notes: tens-of-MB limits are less reliable
RSS_ALERT_RATIO = 0.90


def parse_go_version(v) -> tuple[int, int] | None:
    if v is None:
        return None
    m = re.search(r"(?:go)?(\d+)\.(\d+)", str(v))
    if not m:
        return None
    return int(m.group(1)), int(m.group(2))


def _minor(v) -> int | None:
    p = parse_go_version(v)
    if p is None:
        return None
    return p[1] if p[0] == 1 else 99


def _gogc_value(v):
    if v is None:
        return None
    if isinstance(v, str):
        if v.strip().lower() == "off":
            return "off"
        try:
            return int(v)
        except ValueError:
            return 100  # Go treats an invalid GOGC as 100
    if isinstance(v, (int, float)):
        return "off" if v < 0 else int(v)
    return None


def recommend(signals: Signals | dict, limits: ContainerLimits | None, go_version: str | None,
              current: dict | None = None) -> dict:
    sig = signals if isinstance(signals, Signals) else Signals(**{
        k: v for k, v in (signals or {}).items() if k in Signals.__dataclass_fields__})
    cur = dict(current or {})
    lim = limits or ContainerLimits()
    why: list[str] = []
    assumptions: list[str] = []
    minor = _minor(go_version)
    if minor is None:
        assumptions.append("Go version unknown: assumed a release with GOMEMLIMIT (1.19+) but without "
                           "container-aware GOMAXPROCS (< 1.25); pass --go-version")

    L = lim.memory_limit if lim.memory_limit is not None else sig.memory_limit
    Q = lim.cpu_limit
    H = sig.live_heap_peak if sig.live_heap_peak is not None else sig.live_heap
    R = sig.roots_bytes or 0
    if minor is not None and minor < 18:
        R = 0  # before Go 1.18 GOGC counted only the heap
    N = sig.non_heap_overhead
    if N is None:
        N = R + int(0.05 * (H or 0)) + 4 * MIB
        assumptions.append(f"runtime overhead not measured (no MemStats/metrics); assumed {human(N)}")
    X = sig.non_go_memory
    if X is None:
        X = 0
        if L is not None:
            assumptions.append("non-Go memory (cgo, mmap, page cache, sidecars) not measured; only the "
                               "percentage headroom covers it")
    cur_gogc = _gogc_value(cur.get("GOGC"))
    if cur_gogc is None:
        cur_gogc = "off" if sig.gogc == -1 else (sig.gogc if sig.gogc is not None else 100)
    gogc_num = 100 if cur_gogc == "off" else cur_gogc

    # ---------------- GOMEMLIMIT
    gml = None
    needs_more = False
    min_limit = None
    g_eff = None
    has_memlimit = minor is None or minor >= 19
    if H is not None and L is not None:
        # Memory a healthy GOGC=100 heap needs, plus overhead and non-Go memory, with the guide's headroom.
        need = H + (H + R) * 1.0 + N + X
        min_limit = int(math.ceil(need / (1 - HEADROOM_MIN) / MIB) * MIB)
    if not has_memlimit:
        why.append(f"Go 1.{minor} has no GOMEMLIMIT (added in Go 1.19): memory can only be steered with GOGC.")
    elif L is None:
        why.append("No container memory limit is known, so GOMEMLIMIT stays unset: the GC guide advises a "
                   "limit only where you control the environment. Pass --memory-limit to get one.")
    else:
        headroom = max(HEADROOM_MIN * L, X + HEADROOM_NON_GO * L)
        gml = floor_mib(L - headroom)
        if H is None:
            why.append(f"GOMEMLIMIT={format_go_size(gml)}: the container limit {human(L)} minus "
                       f"{human(L - gml)} headroom for memory the Go runtime does not manage (GC guide: 5-10%). "
                       "No live-heap measurement was available to check it fits.")
        else:
            budget = gml * (1 - LIMIT_GOAL_HEADROOM) - N
            g_eff = 100.0 * (budget - H) / max(H + R, 1)
            if g_eff <= 0:
                needs_more = True
                why.append(
                    f"The service needs more memory: its live heap ({human(H)}) plus runtime overhead "
                    f"({human(N)}) does not fit under any safe limit for a {human(L)} container "
                    f"({human(gml)} after headroom). A GOMEMLIMIT here would only trade the OOM kill for a GC "
                    f"death spiral (GC guide), so none is set. Raise the container limit to at least "
                    f"{human(min_limit)}, or reduce the live heap.")
                gml = None
            else:
                why.append(
                    f"GOMEMLIMIT={format_go_size(gml)}: container limit {human(L)} minus "
                    f"{human(L - gml)} headroom (max of 10% and measured non-Go memory {human(X)} + 5%), as the "
                    f"GC guide advises 5-10% for memory the runtime does not know about.")
                why.append(
                    f"It sits above the peak live heap {human(H)} + runtime overhead {human(N)}; under it the "
                    f"heap can grow to about GOGC={int(g_eff)} before the limit takes over.")
                if g_eff < MIN_GOGC:
                    needs_more = True
                    why.append(f"The service needs more memory: the limit leaves the heap room for only "
                               f"GOGC~{int(g_eff)} at peak, below the point where the GC CPU limiter starts "
                               f"to engage. Raise the container limit to at least {human(min_limit)}.")
                elif g_eff < TIGHT_GOGC:
                    why.append(
                        f"That is tight: at peak the GC would run about {100 / max(g_eff, 1):.1f}x as often as "
                        f"at GOGC=100 and the GC CPU limiter may engage. Give it more memory: "
                        f"{human(min_limit)} keeps GOGC=100 headroom.")
                if L < TINY_LIMIT:
                    why.append("The limit is small: Go's release notes say limits of tens of MB are "
                               "less reliably respected, and the binary and runtime take a large share.")
    if sig.thrashing:
        why.append("The recorded run thrashed: the memory limit pinned the heap goal to the live heap and "
                   "the GC ran back to back. No GC setting fixes that; the service needs more memory "
                   "(or less live data).")
        needs_more = needs_more or (L is not None and H is not None and g_eff is not None and g_eff < TIGHT_GOGC)
        if L is None or g_eff is None:
            needs_more = True

    # ---------------- GOGC
    gogc = cur_gogc
    U = sig.gc_cpu_fraction
    tiny_heap = (sig.heap_goal_peak or 0) and (sig.heap_goal_peak or 0) <= 8 * MIB
    if needs_more or sig.thrashing:
        if gogc == "off" and gml is None:
            gogc = 100
        why.append(f"GOGC stays {gogc}: when the live heap does not fit, GOGC cannot help.")
    elif not has_memlimit or (L is not None and gml is None and not needs_more):
        g_fit = None
        if L is not None and H is not None:
            g_fit = 100.0 * (L * (1 - HEADROOM_MIN) - X - N - H) / max(H + R, 1)
        if gogc == "off":
            gogc = 100
            why.append("GOGC=off without a memory limit lets the heap grow without bound; use a number.")
        if g_fit is not None and g_fit < gogc_num:
            if g_fit < MIN_GOGC:
                needs_more = True
                gogc = MIN_GOGC
                why.append(f"Even GOGC={MIN_GOGC} leaves the peak heap above the {human(L)} limit: the "
                           f"service needs more memory (at least {human(min_limit)}).")
            else:
                gogc = int(g_fit // 5 * 5)
                why.append(f"GOGC={gogc}: with no memory limit available, the peak heap "
                           f"(live {human(H)} + (live + roots) x GOGC/100) must fit under {human(L)} minus "
                           f"headroom; GC CPU grows roughly as 100/GOGC ({100 / gogc:.1f}x the GOGC=100 cost).")
    elif (cur.get("single_tenant") and gml is not None and g_eff is not None and g_eff >= 200
          and U is not None and U > TARGET_GC_CPU and not sig.heap_growth_suspected):
        gogc = "off"
        why.append("GOGC=off: a dedicated container with a comfortable limit can let the limit alone pace "
                   "the GC (minimum GC frequency for the memory given).")
    elif U is not None and U > HIGH_GC_CPU and not tiny_heap and gogc != "off":
        target = min(MAX_GOGC, int(math.ceil(gogc_num * U / TARGET_GC_CPU / 10.0) * 10))
        if target > gogc_num:
            gogc = target
            why.append(f"GOGC={gogc}: the GC used {U:.0%} of CPU ({sig.gc_cpu_fraction_source}); GC CPU scales "
                       f"about as 1/GOGC, so {gogc_num}->{gogc} aims at ~{TARGET_GC_CPU:.0%}.")
            if gml is not None and g_eff is not None and g_eff < gogc:
                why.append(f"Above GOGC={int(g_eff)} the memory limit, not GOGC, bounds the peaks; memory "
                           "will sit near the limit at peak load.")
            elif gml is None:
                why.append(f"Without a memory limit the peak heap grows to about "
                           f"{human(H + (H + R) * gogc / 100) if H is not None else 'live x (1 + GOGC/100)'}.")
    elif gogc == "off":
        if gml is None:
            gogc = 100
            why.append("GOGC=off without a memory limit lets the heap grow without bound; use GOGC=100.")
        elif not cur.get("single_tenant") or (X and L and X > 0.05 * L) or sig.heap_growth_suspected:
            gogc = 100
            why.append("GOGC=100 rather than off: the GC guide warns against GOGC=off with a limit when memory "
                       "is shared with other programs or the heap keeps growing; the limit still bounds peaks.")
        else:
            why.append("GOGC=off is kept: the limit alone paces the GC in a dedicated container.")
    elif (isinstance(gogc, int) and gogc < 100 and gml is not None and g_eff is not None and g_eff >= 100):
        gogc = 100
        why.append("GOGC=100: a low GOGC was bounding memory; with GOMEMLIMIT set the limit does that "
                   "at peaks, and GOGC=100 halves the average GC cost.")
    else:
        if tiny_heap:
            why.append(f"GOGC={gogc}: the heap is tiny (goal <= 8 MiB, near the 4 MiB minimum); GOGC changes "
                       "would barely matter.")
        else:
            why.append(f"GOGC={gogc}: GC CPU is "
                       + (f"{U:.1%}" if U is not None else "unknown")
                       + " and memory fits, so the default trade-off stands.")
    if sig.heap_growth_suspected and sig.heap_slope_bytes_per_hour:
        sl = sig.heap_slope_bytes_per_hour
        msg = (f"The live heap grows by about {human(sl)}/hour: no GC setting fixes a leak, and more memory "
               "only buys time.")
        if gml is not None and H is not None and sl > 0:
            hours = (gml - N - H) / sl
            if hours > 0:
                msg += f" At this rate it reaches GOMEMLIMIT in about {hours:.1f} h, then the GC thrashes."
        why.append(msg)

    # ---------------- GOMAXPROCS
    gmp, unset_note = _gomaxprocs(sig, lim, Q, minor, cur, why)

    # ---------------- RSS alert
    rss_alert = None
    if L is not None:
        extra_charge = 0
        if sig.working_set_peak is not None and sig.rss_peak is not None:
            extra_charge = max(0, sig.working_set_peak - sig.rss_peak)
        rss_alert = floor_mib(RSS_ALERT_RATIO * L - extra_charge)
        why.append(f"Alert when RSS passes {human(rss_alert)} ({RSS_ALERT_RATIO:.0%} of the {human(L)} limit"
                   + (f", minus {human(extra_charge)} the cgroup charges beyond this process" if extra_charge else "")
                   + "); the kill line is the cgroup charge (memory.current) at memory.max, which also counts page "
                   "cache and kernel memory, so alert on working set too.")
    else:
        why.append("No RSS alert threshold without a memory limit: alert on a rising live-heap trend instead.")
    if gml is not None:
        why.append("Also alert when Sys - HeapReleased stays above GOMEMLIMIT or /gc/limiter/last-enabled "
                   "advances: the GC is fighting the limit.")
    why.append("HeapAlloc/NextGC near 1 is every cycle's normal end, not memory pressure; it is not used here.")

    env = env_values(gmp, gogc, gml)
    notes = {"gomaxprocs_unset": unset_note} if unset_note else {}
    if needs_more and min_limit:
        notes["min_memory_limit"] = min_limit
    snippets = build_snippets(gmp, gogc, gml, notes)
    inputs = {
        "go_version": go_version,
        "memory_limit": L,
        "cpu_limit": Q,
        "live_heap_peak": H,
        "live_heap_source": sig.live_heap_source,
        "roots_bytes": R,
        "non_heap_overhead": N,
        "non_go_memory": X,
        "gc_cpu_fraction": U,
        "current": cur,
        "limit_allows_gogc": None if g_eff is None else round(g_eff, 1),
        "assumptions": assumptions,
        "limits_source": lim.source if limits else None,
    }
    return {
        "GOMAXPROCS": gmp,
        "GOGC": gogc,
        "GOMEMLIMIT": gml,
        "rss_alert_bytes": rss_alert,
        "needs_more_memory": needs_more,
        "min_memory_limit_bytes": min_limit if (needs_more or (g_eff is not None and g_eff < TIGHT_GOGC)) else None,
        "env": env,
        "inputs": inputs,
        "signals": sig.to_dict(),
        "rationale": assumptions + why,
        "snippets": snippets,
    }


def _gomaxprocs(sig: Signals, lim: ContainerLimits, Q, minor, cur, why) -> tuple[int | None, str | None]:
    ncpu = lim.cpus or cur.get("cpus")
    obs = sig.gomaxprocs
    mod_minor = _minor(cur.get("go_mod")) if cur.get("go_mod") else None
    amp = bool(cur.get("automaxprocs"))
    why_tail = "GOMAXPROCS is sized from CPU capacity; goroutine counts are irrelevant to it."
    if Q is None:
        msg = "No CPU limit is known: leave GOMAXPROCS unset; the runtime uses the CPUs the process may run on"
        msg += f" (observed {obs})." if obs else "."
        if ncpu and obs and obs > ncpu:
            msg += f" The observed {obs} exceeds the {ncpu} CPUs available: something sets it; remove that."
        why.append(msg + " " + why_tail)
        return None, "no CPU limit: the runtime uses the available CPUs"
    explicit = max(1, math.floor(Q + 1e-9))
    if ncpu:
        explicit = min(explicit, ncpu)
    auto = max(2, math.ceil(Q - 1e-9))
    if ncpu:
        auto = min(ncpu, auto)
    if Q < 1:
        why.append(f"GOMAXPROCS=1: the CPU limit is {Q:g} of a core. Go 1.25+ would pick 2 (its minimum), "
                   "letting two threads burn the quota in half the period and then sit throttled; one P matches "
                   "the quota. Setting it turns off Go 1.25's automatic updates, so revisit it if the limit "
                   "changes. " + why_tail)
        return 1, None
    if minor is not None and minor >= 25:
        if amp or (mod_minor is not None and mod_minor < 25):
            reason = "go.uber.org/automaxprocs calls runtime.GOMAXPROCS" if amp else \
                f"the main module's go.mod says go 1.{mod_minor}, which keeps the pre-1.25 default"
            why.append(f"GOMAXPROCS={explicit} (floor of the {Q:g}-core limit): Go 1.{minor} could follow the "
                       f"container CPU limit itself, but {reason}. Alternatively bump go.mod to go 1.25+ and drop "
                       "automaxprocs, then leave GOMAXPROCS unset. " + why_tail)
            return explicit, None
        msg = (f"Leave GOMAXPROCS unset: Go 1.{minor} follows the container CPU limit itself "
               f"(min(CPUs, max(2, ceil({Q:g}))) = {auto}) and updates it if the limit changes - but only when "
               "the main module's go.mod says go 1.25 or later and nothing sets GOMAXPROCS (the environment "
               "variable, runtime.GOMAXPROCS, or go.uber.org/automaxprocs). If go.mod says go 1.24 or older, "
               f"set GOMAXPROCS={explicit} instead.")
        if obs and obs != auto:
            msg += f" The recorded run used GOMAXPROCS={obs}, not {auto}: something sets it; remove that."
        why.append(msg + " " + why_tail)
        return None, f"Go 1.25+ follows the {Q:g}-CPU limit if go.mod says go >= 1.25; else set {explicit}"
    ver = f"Go 1.{minor}" if minor is not None else "this Go version"
    msg = (f"GOMAXPROCS={explicit}: {ver} does not read the container CPU limit ({Q:g} cores) and would use "
           "every CPU it can see, so threads get throttled by the CFS quota. floor() as automaxprocs does; "
           "Go 1.25+ (with go.mod go >= 1.25) would set this itself.")
    if obs and obs != explicit:
        msg += f" The recorded run used {obs}."
    why.append(msg + " " + why_tail)
    return explicit, None
