#!/usr/bin/env python3
"""Write a Volatility 3 ISF (schema 6.2.0) for a kernel from its own BTF and System.map.

    btf2isf.py VMLINUX SYSTEM_MAP OUT.json

Debian's -dbg packages (DWARF) are not reachable from here, but every Debian kernel since 5.10 carries its types
as BTF in the image's .BTF section. This is a development tool for the cross-kernel harness
(scripts/xkernel/run.sh): the ISFs memscope is judged with come from DWARF. The output follows the corpus ISFs'
conventions: anonymous types are named `unnamed_<id>`, anonymous members `unnamed_field_<offset>` with
`"anonymous": true`, and where two structs share a name the first definition wins.

BTF has no types for most global variables; the few memscope reads through a symbol's type are given theirs
from BTF itself (`tk_core`: the anonymous struct holding `seq` and `timekeeper`; `timekeeper_data`: an array
of TIMEKEEPERS_MAX `struct tk_data`; `neigh_tables`: an array of
NEIGH_NR_TABLES pointers), and `linux_banner` gets its constant data from the image.
"""
import base64, json, struct, sys

INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FUNC_PROTO, VAR, DATASEC, \
    FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = range(1, 20)
QUALIFIERS = (TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG)


def elf_sections(image):
    """{name: (address, file offset, size)} of an ELF64 little-endian image."""
    shoff, = struct.unpack_from("<Q", image, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", image, 0x3A)
    heads = [struct.unpack_from("<IIQQQQIIQQ", image, shoff + i * shentsize) for i in range(shnum)]
    names_off = heads[shstrndx][4]
    out = {}
    for h in heads:
        name = image[names_off + h[0]:image.index(b"\0", names_off + h[0])].decode()
        out[name] = (h[3], h[4], h[5])
    return out


def parse_btf(data):
    """The BTF type list (index = type id; 0 is void) as dicts, and a name lookup."""
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<HBBIIIII", data)
    if magic != 0xEB9F:
        sys.exit("not BTF (magic %#x)" % magic)
    strings = data[hdr_len + str_off:hdr_len + str_off + str_len]

    def name(off):
        return strings[off:strings.index(b"\0", off)].decode()

    types = [dict(kind=0, name="void", size=0)]
    at, end = hdr_len + type_off, hdr_len + type_off + type_len
    while at < end:
        name_off, info, size_type = struct.unpack_from("<III", data, at)
        at += 12
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
        t = dict(kind=kind, name=name(name_off), size=size_type, type=size_type, kflag=kflag)
        if kind == INT:
            enc, = struct.unpack_from("<I", data, at)
            at += 4
            t.update(encoding=(enc >> 24) & 0xF, bits=enc & 0xFF)
        elif kind == ARRAY:
            t["elem"], _, t["count"] = struct.unpack_from("<III", data, at)
            at += 12
        elif kind in (STRUCT, UNION):
            members = []
            for _ in range(vlen):
                m_name, m_type, m_off = struct.unpack_from("<III", data, at)
                at += 12
                bits, bit_off = (m_off >> 24, m_off & 0xFFFFFF) if kflag else (0, m_off)
                members.append(dict(name=name(m_name), type=m_type, bit_offset=bit_off, bits=bits))
            t["members"] = members
        elif kind == ENUM:
            t["values"] = []
            for _ in range(vlen):
                v_name, val = struct.unpack_from("<Ii", data, at)
                at += 8
                t["values"].append((name(v_name), val))
            t["signed"] = bool(kflag)
        elif kind == ENUM64:
            t["values"] = []
            for _ in range(vlen):
                v_name, lo, hi = struct.unpack_from("<III", data, at)
                at += 12
                t["values"].append((name(v_name), lo | hi << 32))
        elif kind == FUNC_PROTO:
            at += 8 * vlen
        elif kind == VAR:
            at += 4
        elif kind == DATASEC:
            at += 12 * vlen
        elif kind == DECL_TAG:
            at += 4
        types.append(t)
    return types


class Converter:
    def __init__(self, types):
        self.types = types
        self.names = {}  # type id -> ISF name for structs, unions and enums
        self.by_name = {}  # (kind, name) -> first type id defining it
        for i, t in enumerate(types):
            if t["kind"] in (STRUCT, UNION, ENUM, ENUM64):
                n = t["name"] or "unnamed_%d" % i
                self.names[i] = n
                self.by_name.setdefault((t["kind"] in (STRUCT, UNION), n), i)

    def strip(self, tid):
        for _ in range(64):
            t = self.types[tid]
            if t["kind"] not in QUALIFIERS:
                return tid
            tid = t["type"]
        return 0

    def size(self, tid):
        tid = self.strip(tid)
        t = self.types[tid]
        if t["kind"] in (INT, STRUCT, UNION, ENUM, ENUM64, FLOAT):
            return t["size"]
        if t["kind"] == PTR:
            return 8
        if t["kind"] == ARRAY:
            return t["count"] * self.size(t["elem"])
        return 0

    def ref(self, tid):
        tid = self.strip(tid)
        t = self.types[tid]
        k = t["kind"]
        if k == 0:
            return {"kind": "base", "name": "void"}
        if k in (INT, FLOAT):
            return {"kind": "base", "name": t["name"]}
        if k == PTR:
            return {"kind": "pointer", "subtype": self.ref(t["type"])}
        if k == ARRAY:
            return {"kind": "array", "count": t["count"], "subtype": self.ref(t["elem"])}
        if k in (STRUCT, UNION):
            return {"kind": "struct" if k == STRUCT else "union", "name": self.names[tid]}
        if k == FWD:
            return {"kind": "union" if t["kflag"] else "struct", "name": t["name"]}
        if k in (ENUM, ENUM64):
            return {"kind": "enum", "name": self.names[tid]}
        if k == FUNC_PROTO:
            return {"kind": "function"}
        return {"kind": "base", "name": "void"}

    def field(self, m):
        byte = m["bit_offset"] // 8
        tid = self.strip(m["type"])
        t = self.types[tid]
        if m["bits"] or (t["kind"] == INT and t["bits"] != t["size"] * 8) or m["bit_offset"] % 8:
            bits = m["bits"] or t.get("bits", 0)
            unit = max(self.size(tid), 1)
            start = (m["bit_offset"] // (unit * 8)) * unit
            if m["bit_offset"] - start * 8 + bits > unit * 8:
                start = byte
            return {"type": {"kind": "bitfield", "bit_position": m["bit_offset"] - start * 8, "bit_length": bits,
                             "type": self.ref(tid)}, "offset": start}
        return {"type": self.ref(m["type"]), "offset": byte}

    def isf(self):
        base = {"pointer": {"size": 8, "signed": False, "kind": "int", "endian": "little"},
                "void": {"size": 0, "signed": False, "kind": "void", "endian": "little"}}
        user, enums = {}, {}
        for i, t in enumerate(self.types):
            k = t["kind"]
            if k == INT:
                kind = "bool" if t["encoding"] & 4 else "char" if t["encoding"] & 2 or "char" in t["name"] else "int"
                base.setdefault(t["name"], {"size": t["size"], "signed": bool(t["encoding"] & 1), "kind": kind,
                                            "endian": "little"})
            elif k == FLOAT:
                base.setdefault(t["name"], {"size": t["size"], "signed": True, "kind": "float", "endian": "little"})
            elif k in (STRUCT, UNION) and self.by_name.get((True, self.names[i])) == i:
                fields = {}
                for m in t["members"]:
                    f = self.field(m)
                    if m["name"]:
                        fields.setdefault(m["name"], f)
                    else:
                        f["anonymous"] = True
                        fields["unnamed_field_%d" % f["offset"]] = f
                user[self.names[i]] = {"kind": "struct" if k == STRUCT else "union", "size": t["size"],
                                       "fields": fields}
            elif k in (ENUM, ENUM64) and self.by_name.get((False, self.names[i])) == i:
                signed = any(v < 0 for _, v in t["values"])
                enums[self.names[i]] = {"size": t["size"], "base": "int" if signed else "unsigned int",
                                        "constants": dict(t["values"])}
        # a FWD-only struct gets an empty placeholder, as in the corpus ISFs
        for t in self.types:
            if t["kind"] == FWD and t["name"] not in user:
                user[t["name"]] = {"kind": "struct", "size": 0, "fields": {}}
        return base, user, enums


def main(vmlinux, system_map, out):
    image = open(vmlinux, "rb").read()
    sections = elf_sections(image)
    _, off, size = sections[".BTF"]
    conv = Converter(parse_btf(image[off:off + size]))
    base, user, enums = conv.isf()

    symbols = {}
    for line in open(system_map):
        parts = line.split()
        if len(parts) == 3 and parts[2] not in symbols:
            symbols[parts[2]] = {"address": int(parts[0], 16)}

    # the symbol types memscope needs that BTF does not record
    for name, t in user.items():
        if name.startswith("unnamed_") and {"seq", "timekeeper"} <= set(t["fields"]):
            if "tk_core" in symbols:
                symbols["tk_core"]["type"] = {"kind": "struct", "name": name}
            break
    tk_max = next((e["constants"]["TIMEKEEPERS_MAX"] for e in enums.values() if "TIMEKEEPERS_MAX" in e["constants"]),
                  None)
    if tk_max and "timekeeper_data" in symbols and "tk_data" in user:
        symbols["timekeeper_data"]["type"] = {"kind": "array", "count": tk_max,
                                              "subtype": {"kind": "struct", "name": "tk_data"}}
    nr = next((dict(e["constants"]).get("NEIGH_NR_TABLES") for e in enums.values()
               if "NEIGH_NR_TABLES" in e["constants"]), None)
    if nr and "neigh_tables" in symbols:
        symbols["neigh_tables"]["type"] = {"kind": "array", "count": nr, "subtype": {
            "kind": "pointer", "subtype": {"kind": "struct", "name": "neigh_table"}}}
    for name, ty in (("init_task", "task_struct"), ("init_uts_ns", "uts_namespace"), ("init_net", "net")):
        if name in symbols:
            symbols[name]["type"] = {"kind": "struct", "name": ty}
    if "linux_banner" in symbols:
        addr = symbols["linux_banner"]["address"]
        for s_addr, s_off, s_size in sections.values():
            if s_addr and s_addr <= addr < s_addr + s_size:
                at = s_off + addr - s_addr
                text = image[at:image.index(b"\0", at) + 1]
                symbols["linux_banner"]["constant_data"] = base64.b64encode(text).decode()
                symbols["linux_banner"]["type"] = {"kind": "array", "count": len(text),
                                                   "subtype": {"kind": "base", "name": "char"}}
                break

    isf = {"metadata": {"format": "6.2.0", "producer": {"name": "memscope-btf2isf", "version": "0.1.0"},
                        "linux": {"symbols": [{"kind": "system-map", "name": system_map}],
                                  "types": [{"kind": "btf", "name": vmlinux}]}},
           "base_types": base, "user_types": user, "enums": enums, "symbols": symbols}
    with open(out, "w") as f:
        json.dump(isf, f)
    print("%s: %d user types, %d enums, %d symbols" % (out, len(user), len(enums), len(symbols)))


if __name__ == "__main__":
    main(*sys.argv[1:4])
