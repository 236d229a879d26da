# Included by every Verilator build's make (asicdv.tools.simulator): Verilator's VPI functions to
# register and remove callbacks are renamed, so that the main loop's own (verilator_main.cpp),
# which keep the watched signals' list, are the ones cocotb calls; they call these.
verilated_vpi.o: CPPFLAGS += -Dvpi_register_cb=verilated_vpi_register_cb -Dvpi_remove_cb=verilated_vpi_remove_cb
