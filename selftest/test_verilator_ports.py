"""The port table a build's main loop registers for VPI (asicdv.tools.verilator_ports), from
Verilator's Vtop.h declarations."""

from asicdv.tools import verilator_ports as vp

HEADER = """
    // PORTS
    VL_IN8(&clk,0,0);
    VL_OUT16(&count,11,0);
    VL_INW(&block,511,0,16);
    VL_OUT64(&wide,39,0);
    VL_IN(&word,31,0);
    VL_INOUT8(&pad,0,0);
"""


def test_model_ports_reads_every_declaration(tmp_path):
    header = tmp_path / "Vtop.h"
    header.write_text(HEADER)
    assert vp.model_ports(header) == [
        vp.ModelPort("clk", "IN", "8", 0, 0),
        vp.ModelPort("count", "OUT", "16", 11, 0),
        vp.ModelPort("block", "IN", "W", 511, 0),
        vp.ModelPort("wide", "OUT", "64", 39, 0),
        vp.ModelPort("word", "IN", None, 31, 0),
        vp.ModelPort("pad", "INOUT", "8", 0, 0),
    ]


def test_model_ports_refuses_what_the_table_cannot_register(tmp_path):
    header = tmp_path / "Vtop.h"
    for line in ("VL_IN8(&lanes[4],7,0);", "VL_IN8(&__05Fescaped,0,0);"):
        header.write_text(HEADER + f"    {line}\n")
        assert vp.model_ports(header) is None, line


def test_port_table_registers_each_port_in_both_scopes_with_its_access():
    ports = [vp.ModelPort("clk", "IN", "8", 0, 0), vp.ModelPort("sum", "OUT", None, 31, 0)]
    table = vp.port_table("adder", ports, signed={"sum"}, two_state={"clk"})
    assert 'module = new VerilatedScope{syms, "adder", "adder", "adder",' in table
    for scope in ("ports", "module"):
        assert (
            f'{scope}->varInsert("clk", &top->clk, false, VLVT_UINT8, VLVD_IN|VLVF_PUB_RW|VLVF_BITVAR, 0, 0);' in table
        )
        assert (
            f'{scope}->varInsert("sum", &top->sum, false, VLVT_UINT32, VLVD_OUT|VLVF_PUB_RD|VLVF_SIGNED, 0, 1, 31, 0);'
            in table
        )
