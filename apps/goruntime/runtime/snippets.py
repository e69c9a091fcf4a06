"""Ready-to-paste settings. Every GOMEMLIMIT goes through format_go_size, so it is
always a form Go's parser accepts (integer + B/KiB/MiB/GiB/TiB)."""
from __future__ import annotations

from .sizes import format_go_size


def env_values(gomaxprocs, gogc, gomemlimit) -> dict[str, str]:
    env = {}
    if gomemlimit is not None:
        env["GOMEMLIMIT"] = format_go_size(int(gomemlimit))
    if gogc is not None:
        env["GOGC"] = "off" if gogc == "off" else str(int(gogc))
    if gomaxprocs is not None:
        env["GOMAXPROCS"] = str(int(gomaxprocs))
    return env


def build_snippets(gomaxprocs, gogc, gomemlimit, notes: dict | None = None) -> dict[str, str]:
    env = env_values(gomaxprocs, gogc, gomemlimit)
    notes = notes or {}
    unset_note = notes.get("gomaxprocs_unset")
    k8s = ["env:"]
    for k, v in env.items():
        k8s += [f"- name: {k}", f'  value: "{v}"']
    if unset_note:
        k8s.append(f"# GOMAXPROCS: leave unset ({unset_note})")
    if len(k8s) == 1:
        k8s = ["env: []  # keep the runtime defaults"]
    need = notes.get("min_memory_limit")
    if need:
        # Kubernetes quantities use Mi (not Go's MiB): this line is for resources, never for GOMEMLIMIT.
        k8s.append(f"# the service needs more memory: resources.limits.memory >= {-(-int(need) // (1 << 20))}Mi")
    docker = ("ENV " + " ".join(f"{k}={v}" for k, v in env.items())) if env else "# keep the runtime defaults"
    if unset_note:
        docker += f"\n# GOMAXPROCS: leave unset ({unset_note})"
    systemd = "[Service]\n" + (
        "Environment=" + " ".join(f'"{k}={v}"' for k, v in env.items()) if env else "# keep the runtime defaults")
    go_lines = []
    if gomemlimit is not None:
        go_lines.append(f"\tdebug.SetMemoryLimit({int(gomemlimit)}) // {format_go_size(int(gomemlimit))}")
    if gogc is not None:
        go_lines.append("\tdebug.SetGCPercent(-1) // GOGC=off" if gogc == "off" else f"\tdebug.SetGCPercent({int(gogc)})")
    if gomaxprocs is not None:
        go_lines.append(f"\truntime.GOMAXPROCS({int(gomaxprocs)})")
    imports = ['\t"runtime/debug"'] if (gomemlimit is not None or gogc is not None) else []
    if gomaxprocs is not None:
        imports.insert(0, '\t"runtime"')
    go = ("import (\n" + "\n".join(imports) + "\n)\n\n" if imports else "") + \
        "// Prefer the environment variables: code settings override them for every deployment.\n" \
        "func init() {\n" + ("\n".join(go_lines) if go_lines else "\t// nothing to change") + "\n}\n"
    return {"k8s": "\n".join(k8s) + "\n", "dockerfile": docker + "\n", "systemd": systemd + "\n", "go": go}
