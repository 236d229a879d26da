// Simulation-only top for the overhead prototype (bench/README.md, issue 11):
// kpu_top with its clock generated in HDL (Verilator --timing) and its operand
// stream played from a memory that Python fills in one call ($readmemh of a
// file it wrote), so no Python runs per operand beat. Results still leave on
// res_* for the Python monitor and scoreboard.
// One record per beat, RECORD_W bits: {op_pool, op_raw, op_act_max, op_act_min,
// op_out_zp, op_in_zp, op_shift, op_mult, op_bias, op_last, op_b, op_a}
// (op_a in the LSBs), as the bench's native harness reads them.
`default_nettype none

module kpu_top_simsrc #(
    parameter ROWS  = 8,
    parameter COLS  = 8,
    parameter DEPTH = 1 << 17
) (
    output reg                 clk,
    input  wire                rst,
    input  wire                load,        // one cycle: read beats.hex, then stream n_beats
    input  wire [31:0]         n_beats,
    output wire                src_done,    // every beat accepted
    output wire                res_valid,
    input  wire                res_ready,
    output wire                res_last,
    output wire [COLS*32-1:0]  res_data
);
    localparam RECORD_W = ROWS*8 + COLS*8 + 1 + COLS*32*2 + COLS*6 + 4*8 + 2;

    initial clk = 1'b0;
    always #5 clk = ~clk;

    reg [RECORD_W-1:0] mem [0:DEPTH-1];
    reg [31:0] idx, count;
    reg        running;

    wire op_ready;
    wire op_valid = running && (idx < count);
    wire [RECORD_W-1:0] r = mem[idx[$clog2(DEPTH)-1:0]];
    assign src_done = running && (idx == count);

    always @(posedge clk) begin
        if (rst) begin
            running <= 1'b0;
            idx     <= 32'd0;
        end else if (load) begin
            $readmemh("beats.hex", mem);
            running <= 1'b1;
            idx     <= 32'd0;
            count   <= n_beats;
        end else if (op_valid && op_ready) begin
            idx <= idx + 32'd1;
        end
    end

    localparam A0 = 0, B0 = A0 + ROWS*8, L0 = B0 + COLS*8, BI0 = L0 + 1, M0 = BI0 + COLS*32,
               S0 = M0 + COLS*32, Z0 = S0 + COLS*6;

    kpu_top #(.ROWS(ROWS), .COLS(COLS)) u_dut (
        .clk(clk), .rst(rst),
        .op_valid(op_valid), .op_ready(op_ready),
        .op_a(r[A0 +: ROWS*8]), .op_b(r[B0 +: COLS*8]), .op_last(r[L0]),
        .op_bias(r[BI0 +: COLS*32]), .op_mult(r[M0 +: COLS*32]), .op_shift(r[S0 +: COLS*6]),
        .op_in_zp(r[Z0 +: 8]), .op_out_zp(r[Z0+8 +: 8]), .op_act_min(r[Z0+16 +: 8]), .op_act_max(r[Z0+24 +: 8]),
        .op_raw(r[Z0+32]), .op_pool(r[Z0+33]),
        .res_valid(res_valid), .res_ready(res_ready), .res_last(res_last), .res_data(res_data)
    );
endmodule

`default_nettype wire
