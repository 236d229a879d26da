// Formal harness of the KPU's control (rtl/kpu/kpu_top.v): the tile sequencing, the double
// buffer and the result framing, for each legal ROWS (COLS = 1: the control does not depend on
// COLS, only the datapath width does). The datapath (multipliers, requantization) is in the model
// but in the cone of no property, so Yosys prunes it; the arithmetic is simulation's.
//   in_tile_exact    the DUT is inside a tile exactly when a first beat was taken and its last
//                    beat not yet (parameters are sampled on first beats only)
//   no_overwrite     a tile's last beat is taken only when the output buffer is free (or frees
//                    in that cycle): a tile is never written over one still draining
//   row_in_range     while a tile drains, its row counter stays below ROWS (ROWS need not be a
//                    power of two; idle, the counter may sit at ROWS, unused)
//   no_orphan_result a result beat is shown only while a loaded tile is not fully out
//   res_last_exact   res_last marks exactly beat ROWS - 1 of each tile's result (unpooled tiles)
// Assumptions: op_pool = 0 (pooling's beat count per tile is not modelled here).
// Property forms used: immediate assert/assume in always blocks.
`default_nettype none

module kpu_ctrl_formal #(
    parameter ROWS = 2,
    parameter COLS = 1
) (
    input wire                   clk,
    input wire                   rst,
    input wire                   op_valid,
    input wire                   op_last,
    input wire                   op_raw,
    input wire                   op_depthwise,
    input wire                   op_round_single,
    input wire                   op_round_fp32,
    input wire [ROWS*8-1:0]      op_a,
    input wire [COLS*8-1:0]      op_b,
    input wire                   res_ready
);
    localparam RW = (ROWS > 1) ? $clog2(ROWS) : 1;
    wire               op_ready, res_valid, res_last;
    wire [COLS*32-1:0] res_data;

    kpu_top #(.ROWS(ROWS), .COLS(COLS)) dut (
        .clk(clk), .rst(rst),
        .op_valid(op_valid), .op_ready(op_ready), .op_a(op_a), .op_a_pe({ROWS*COLS*8{1'b0}}), .op_b(op_b),
        .op_last(op_last), .op_bias({COLS{32'd0}}), .op_mult({COLS{32'h40000000}}), .op_shift({COLS{6'd0}}),
        .op_in_zp(8'd0), .op_out_zp(8'd0), .op_act_min(8'h80), .op_act_max(8'h7f), .op_raw(op_raw),
        .op_pool(1'b0), .op_depthwise(op_depthwise), .op_round_single(op_round_single),
        .op_round_fp32(op_round_fp32),
        .res_valid(res_valid), .res_ready(res_ready), .res_last(res_last), .res_data(res_data)
    );

`ifdef YOSYS
    wire          t_in_tile, t_d_busy, t_d_done;
    wire [RW-1:0] t_d_row;
`else
    wire          t_in_tile = dut.in_tile;
    wire          t_d_busy  = dut.d_busy;
    wire          t_d_done  = dut.d_done;
    wire [RW-1:0] t_d_row   = dut.d_row;
`endif

    wire accept = op_valid && op_ready;
    wire out    = res_valid && res_ready;

    reg          exp_in_tile;
    reg  [3:0]   pending;     // tiles whose last operand beat was taken and whose last result beat was not
    reg  [RW:0]  out_beat;    // result beats of the current result tile already taken
    always @(posedge clk) begin
        if (rst) begin
            exp_in_tile <= 1'b0;
            pending     <= 4'd0;
            out_beat    <= {(RW+1){1'b0}};
        end else begin
            if (accept) exp_in_tile <= !op_last;
            pending <= pending + (accept && op_last ? 4'd1 : 4'd0) - (out && res_last ? 4'd1 : 4'd0);
            if (out) out_beat <= res_last ? {(RW+1){1'b0}} : out_beat + 1'b1;
        end
    end

    reg f_past_valid = 1'b0;
    always @(posedge clk) f_past_valid <= 1'b1;

    always @(*) begin
        if (!f_past_valid) assume (rst);
        if (f_past_valid && !rst) begin
            in_tile_exact:    assert (t_in_tile == exp_in_tile);
            if (accept && op_last) no_overwrite: assert (!t_d_busy || t_d_done);
            row_in_range:     assert (!t_d_busy || t_d_row <= ROWS - 1);
            if (res_valid) no_orphan_result: assert (pending != 4'd0);
            if (res_valid) res_last_exact:   assert (res_last == (out_beat == ROWS - 1));
        end
    end
endmodule

`default_nettype wire
