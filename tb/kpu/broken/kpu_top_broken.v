// Test-only broken variant of kpu_top, built from the real array, for
// tb/test_broken_variants.py: the property tests alone must catch it.
//   BUG = 1: saturation high is off by one: an output lane equal to 127 comes out as 126
//            (in raw mode too, where an accumulator of exactly 127 is rare).
`default_nettype none

module kpu_top_broken #(
    parameter ROWS = 8,
    parameter COLS = 8,
    parameter BUG  = 1
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 op_valid,
    output wire                 op_ready,
    input  wire [ROWS*8-1:0]    op_a,
    input  wire [ROWS*COLS*8-1:0] op_a_pe,
    input  wire [COLS*8-1:0]    op_b,
    input  wire                 op_last,
    input  wire [COLS*32-1:0]   op_bias,
    input  wire [COLS*32-1:0]   op_mult,
    input  wire [COLS*6-1:0]    op_shift,
    input  wire [7:0]           op_in_zp,
    input  wire [7:0]           op_out_zp,
    input  wire [7:0]           op_act_min,
    input  wire [7:0]           op_act_max,
    input  wire                 op_raw,
    input  wire                 op_pool,
    input  wire                 op_depthwise,
    input  wire                 op_round_single,
    input  wire                 op_round_fp32,
    output wire                 res_valid,
    input  wire                 res_ready,
    output wire                 res_last,
    output wire [COLS*32-1:0]   res_data
);
    wire [COLS*32-1:0] data;

    kpu_top #(.ROWS(ROWS), .COLS(COLS)) u_kpu (
        .clk(clk), .rst(rst), .op_valid(op_valid), .op_ready(op_ready), .op_a(op_a), .op_b(op_b),
        .op_last(op_last), .op_bias(op_bias), .op_mult(op_mult), .op_shift(op_shift), .op_in_zp(op_in_zp),
        .op_out_zp(op_out_zp), .op_act_min(op_act_min), .op_act_max(op_act_max), .op_raw(op_raw),
        .op_pool(op_pool), .op_a_pe(op_a_pe), .op_depthwise(op_depthwise), .op_round_single(op_round_single),
        .op_round_fp32(op_round_fp32), .res_valid(res_valid), .res_ready(res_ready), .res_last(res_last), .res_data(data)
    );

    genvar c;
    generate
        for (c = 0; c < COLS; c = c + 1) begin : g_lane
            assign res_data[32*c +: 32] = data[32*c +: 32] - {31'd0, BUG == 1 && data[32*c +: 32] == 32'd127};
        end
    endgenerate
endmodule

`default_nettype wire
