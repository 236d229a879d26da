// KPU-style int8 MAC array: ROWS x COLS multiply-accumulate units computing one
// output tile C[ROWS, COLS] = (A - input_zp) * B + bias per pass, then TFLite
// per-channel requantization (or raw int32 accumulators).
//
// Architecture: a broadcast outer-product array. Each operand beat carries one
// k-slice of the tile: column k of the A tile (one int8 per row) and row k of
// the B tile (one int8 per column); PE(r, c) adds (A[r] - input_zp) * B[c], so a
// beat is ROWS*COLS MACs and a tile of depth K takes K beats. Compared with a
// systolic array this needs no skewing of operands or results, and the
// accumulators sit still, which makes the double buffering below trivial.
// A - input_zp is formed per PE (9-bit signed, exact) from the row's A (GEMM
// tiles) or the PE's own A (depthwise tiles, see Depthwise below).
//
// Operand stream (op_*), valid/ready, one k-slice per beat:
//   op_a[8*r +: 8]  = A[m0 + r, k]   (int8, row r of the tile)
//   op_b[8*c +: 8]  = B[k, n0 + c]   (int8, column c of the tile)
//   op_last         = this is the last k of the tile (K = 1 tiles allowed)
// Per-tile parameters are sampled with the FIRST beat of each tile (they are
// don't-care on the other beats):
//   op_bias[32*c +: 32]  int32 bias of column c
//   op_mult[32*c +: 32]  int32 quantized multiplier of column c
//   op_shift[6*c +: 6]   signed shift of column c, -31..30 (TFLite: > 0 left)
//   op_in_zp, op_out_zp  int8 zero points; op_act_min <= op_act_max, int8
//   op_raw               1: output the int32 accumulators (bias included) and
//                        ignore mult/shift/out_zp/act_*
//   op_pool              1: 2x2 max-pool the tile's result (see Max-pool below)
//   op_depthwise         1: depthwise tile, A per PE from op_a_pe (see Depthwise)
//   op_round_single      0: TFLite reference double rounding, 1: single rounding
//                        (see Rounding below)
//   op_round_fp32        1: fp32 requantization (XNNPACK); op_mult[32*c +: 32] is then
//                        column c's binary32 scale and op_shift is ignored
//                        (overrides op_round_single; see Rounding below)
// Partial tiles are the driver's job: pad the missing A rows / B columns (e.g.
// with zeros) and discard those rows / columns of the result. K needs no
// padding: a tile is as deep as its op_last says. op_shift values 31 and -32
// fit the field but are outside TFLite's range: not supported.
//
// Depthwise (op_depthwise, the K210's depthwise mode): every PE gets its own
// activation instead of one per row, so each column can be a channel and each
// row an output pixel. A depthwise tile is ROWS pixels x COLS channels; beat k
// is filter tap k (k = ky*KW + kx, K = KH*KW beats, op_last on the last tap):
//   op_a_pe[8*(r*COLS + c) +: 8] = input of pixel m0 + r, channel n0 + c at
//                                  tap k (input_zp where the tap is padding)
//   op_b[8*c +: 8]               = filter tap k of channel n0 + c
// and PE(r, c) adds (op_a_pe[r, c] - input_zp) * op_b[c]; op_a is ignored
// (op_a_pe is ignored in GEMM tiles). The array computes no convolution
// itself: any per-PE product stream works, so the driver may also give the
// columns of one tile different pixel blocks (channel c2 of pixels 8..15 next
// to channel c1 of pixels 0..7), which keeps the array full when C is not a
// multiple of COLS. Everything else is the GEMM path: bias/mult/shift per
// column, raw, pool (4 consecutive rows = one 2x2 window, as for GEMMs),
// double buffering and timing. A depthwise KxK tile takes K*K beats, so with
// K*K >= ROWS (3x3 on 8 rows) tiles stream back to back at one beat per cycle
// and every MAC is useful except in partial tiles. Cost: op_a_pe is a
// ROWS*COLS*8-bit operand beat (512 bits on 8x8; a chip would fill it from a
// line buffer), and input_zp is subtracted per PE (ROWS*COLS 9-bit
// subtractors and 8-bit muxes instead of ROWS subtractors).
//
// Rounding (op_round_single / op_round_fp32, per tile): with acc the int32
// accumulator and M, s the column's multiplier and shift,
//   0  double rounding, TFLite's reference kernels (gemmlowp):
//      RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc << max(s, 0),
//      M), max(-s, 0)); the left shift wraps in int32
//   1  single rounding, TFLite's MultiplyByQuantizedMultiplier built with
//      TFLITE_SINGLE_ROUNDING, as CMSIS-NN's arm_nn_requantize computes it
//      (not what TFLite's default interpreter runs: that is fp32 below):
//      (acc * M + 2^(30 - s)) >> (31 - s), 64-bit exact, arithmetic shift
//      (ties round up), result saturated to int32 (as models/kpu.py; TFLite
//      DCHECKs that it fits)
//   fp32 (op_round_fp32) XNNPACK's requantization, what TFLite's default
//      interpreter runs: rint(float32(acc) * scale), float32(acc) rounding to
//      nearest even for |acc| > 2^24, one binary32 multiply rounding to
//      nearest even, rint to nearest even (kpu_fp32_norm in stage 1, the
//      24x24 significand product on stage 2's multiplier, kpu_fp32_round in
//      stage 3). Bit-exact with XNNPACK for every finite scale (zero and
//      subnormal scales give 0; Inf / NaN scales are not supported).
// then + output_zp and the activation clamp in every mode. Same 3-stage
// kpu_post pipeline, latency and throughput for all three: stage 1 computes the
// right shift (31 - s when single) and skips the left shift; stage 2 now adds
// the rounding constant (SRDHM's nudge, or 2^(30 - s) when single) into the
// 64-bit multiply as one more addend, which took the 64-bit rounding adder out
// of stage 3; stage 3 holds both rounding paths (single: a 64-bit arithmetic
// shifter and int32 saturation) and a 2:1 mux. Measured in generic gate
// levels (Yosys synth, ltp -noff, one lane), the longest register-to-register
// path of kpu_post went from 175 to 143 and kpu_requant from 162 to 126.
// The fp32 mode reuses stage 2's multiplier (its operands muxed in stage 1)
// and the zero point / clamp; it added one lane's kpu_fp32_norm (567 cells,
// 60 levels) and kpu_fp32_round (488 cells, 40 levels): kpu_post per lane
// 10,826 -> 11,997 cells, 301 -> 303 flip-flops, longest path 122 -> 123.
// The operand path (op_a -> PE accumulator) gained one 8-bit 2:1 mux per PE
// (the depthwise select).
//
// Result stream (res_*), valid/ready: ROWS beats per tile, beat r = output row
// m0 + r; res_data[32*c +: 32] is column n0 + c: the int32 accumulator in raw
// mode, else the int8 result sign-extended to 32 bits. res_last marks row
// ROWS - 1. Tiles come out in the order they went in.
//
// Double buffering: the last beat of a tile writes its sums into a second
// register per PE (the output buffer) instead of the accumulator, so the next
// tile's first beat can follow on the next cycle. The buffer drains one row per
// cycle through kpu_post (3 stages). op_ready drops only for a LAST beat that
// arrives while the previous tile is still draining (so ready looks at
// op_last): with res_ready high that happens only for tiles with K < ROWS.
// op_ready therefore has combinational paths from op_last and res_ready.
// Latency: with res_ready high, row r of a tile is on res_* 3 + r cycles after
// the clock edge that accepted the tile's last beat (valid from that edge + 3).
//
// Max-pool (op_pool, the optional K210-style 2x2 / stride-2 stage): the array
// only sees GEMM rows, so the 2x2 windows are the driver's job: for a pooled
// conv2d it orders the im2col rows window by window, each group of 4
// consecutive GEMM rows (rows 4j..4j+3 of a tile) being the 4 pixels of one
// pooling window, windows in raster order of the pooled output, and leaves out
// pixels in no full window (odd OH/OW: TFLite MaxPool 2x2 stride 2 VALID). A
// tile with op_pool set produces ROWS/4 result beats instead of ROWS: beat j
// is the lane-wise signed max of rows 4j..4j+3 after requantization and
// activation (of the int32 accumulators in raw mode); res_last marks beat
// ROWS/4 - 1. Beat j leaves when row 4j+3 would have left unpooled (3 + 4j + 3
// cycles after the last operand beat), and draining still takes ROWS cycles,
// so op_ready and throughput are those of an unpooled tile. Pooled and
// unpooled tiles can follow each other back to back. A partial tile's padding
// rows must form whole groups (M a multiple of 4, so padding starts on a
// group boundary) or copy a real row of their group, or they leak into a max.
// Pooling needs ROWS % 4 == 0: for other ROWS op_pool is ignored (the tile
// comes out unpooled, ROWS beats).
//
// Overflow: |A - input_zp| <= 255 and |B| <= 128 give |product| <= 32,640, so
// for K <= 4096 |sum| <= 133,693,440 < 2^31; any bias with |bias| <=
// 2,013,790,207 then also fits. Beyond that the accumulator wraps modulo 2^32
// (models/kpu.py models the same wrap).
// Requantization is TFLite's MultiplyByQuantizedMultiplier, double or single
// rounding per tile (see Rounding); the double-rounding left shift wraps in
// int32 like the reference `x * (1 << left_shift)` (kpu_post).
`default_nettype none

module kpu_top #(
    parameter ROWS = 8,
    parameter COLS = 8
) (
    input  wire                 clk,
    input  wire                 rst,         // synchronous, active high

    input  wire                 op_valid,
    output wire                 op_ready,
    input  wire [ROWS*8-1:0]    op_a,
    input  wire [ROWS*COLS*8-1:0] op_a_pe,   // depthwise tiles: A per PE
    input  wire [COLS*8-1:0]    op_b,
    input  wire                 op_last,
    input  wire [COLS*32-1:0]   op_bias,     // sampled on the first beat
    input  wire [COLS*32-1:0]   op_mult,     //   "
    input  wire [COLS*6-1:0]    op_shift,    //   "
    input  wire [7:0]           op_in_zp,    //   "
    input  wire [7:0]           op_out_zp,   //   "
    input  wire [7:0]           op_act_min,  //   "
    input  wire [7:0]           op_act_max,  //   "
    input  wire                 op_raw,      //   "
    input  wire                 op_pool,     //   " (ignored if ROWS % 4 != 0)
    input  wire                 op_depthwise,    // " A per PE from op_a_pe
    input  wire                 op_round_single, // " 1: single rounding
    input  wire                 op_round_fp32,   // " 1: fp32 requantization (op_mult = scale bits)

    output wire                 res_valid,
    input  wire                 res_ready,
    output wire                 res_last,
    output wire [COLS*32-1:0]   res_data
);
    localparam RW = (ROWS > 1) ? $clog2(ROWS) : 1;
    localparam integer  LAST     = ROWS - 1;
    localparam [RW-1:0] LAST_ROW = LAST[RW-1:0];
    localparam          POOL_OK  = (ROWS % 4 == 0);

    // Operand side: which beat of a tile we are in, and the tile's parameters.
    reg                 in_tile;     // first beat accepted, last not yet
    reg  [7:0]          t_in_zp;
    reg  [COLS*32-1:0]  t_mult;
    reg  [COLS*6-1:0]   t_shift;
    reg  [7:0]          t_out_zp, t_act_min, t_act_max;
    reg                 t_raw;
    reg                 t_pool;
    reg                 t_depthwise;
    reg                 t_round_single;
    reg                 t_round_fp32;

    // Drain side: the tile in the output buffer and its parameters.
    reg                 d_busy;
    reg  [RW-1:0]       d_row;       // rows already sent to kpu_post
    reg  [COLS*32-1:0]  d_mult;
    reg  [COLS*6-1:0]   d_shift;
    reg  [7:0]          d_out_zp, d_act_min, d_act_max;
    reg                 d_raw;
    reg                 d_pool;
    reg                 d_round_single;
    reg                 d_round_fp32;
    wire [1:0]          d_grp;       // position of row d_row in its pool group

    wire                first  = !in_tile;
    wire                post_ready;
    wire                issue  = d_busy && post_ready;            // row 0 -> kpu_post
    wire                d_done = issue && (d_row == LAST_ROW);    // buffer frees now
    wire                accept = op_valid && op_ready;
    wire                load   = accept && op_last;

    assign op_ready = !(op_last && d_busy && !d_done);

    // The first beat uses its own parameters directly; later beats the copies.
    wire [7:0]          in_zp     = first ? op_in_zp   : t_in_zp;
    wire [COLS*32-1:0]  mult_now  = first ? op_mult    : t_mult;
    wire [COLS*6-1:0]   shift_now = first ? op_shift   : t_shift;
    wire [7:0]          out_zp_now  = first ? op_out_zp  : t_out_zp;
    wire [7:0]          act_min_now = first ? op_act_min : t_act_min;
    wire [7:0]          act_max_now = first ? op_act_max : t_act_max;
    wire                raw_now   = first ? op_raw     : t_raw;
    wire                pool_now  = first ? op_pool    : t_pool;
    wire                depthwise_now    = first ? op_depthwise    : t_depthwise;
    wire                round_single_now = first ? op_round_single : t_round_single;
    wire                round_fp32_now   = first ? op_round_fp32   : t_round_fp32;

    generate
        if (POOL_OK) begin : g_grp
            assign d_grp = d_row[1:0];
        end else begin : g_no_grp
            assign d_grp = 2'd0;
        end
    endgenerate

    // PE array; pe_res[r] is the output buffer row r (row ROWS reads as zero).
    wire [COLS*32-1:0]  pe_res [0:ROWS];
    assign pe_res[ROWS] = {COLS*32{1'b0}};

    genvar r, c;
    generate
        for (r = 0; r < ROWS; r = r + 1) begin : g_row
            for (c = 0; c < COLS; c = c + 1) begin : g_col
                // GEMM: A of the row, broadcast; depthwise: this PE's own A.
                wire signed [7:0] a   = depthwise_now ? op_a_pe[8*(r*COLS + c) +: 8] : op_a[8*r +: 8];
                wire signed [7:0] zp  = in_zp;
                wire signed [8:0] a_c = {a[7], a} - {zp[7], zp};  // exact, 9 bits
                kpu_pe u_pe (
                    .clk      (clk),
                    .acc_en   (accept),
                    .first    (first),
                    .load     (load),
                    .a_c      (a_c),
                    .b        (op_b[8*c +: 8]),
                    .bias     (op_bias[32*c +: 32]),
                    .shift    (issue),
                    .shift_in (pe_res[r + 1][32*c +: 32]),
                    .res      (pe_res[r][32*c +: 32])
                );
            end
        end
    endgenerate

    kpu_post #(.COLS(COLS)) u_post (
        .clk        (clk),
        .rst        (rst),
        .in_valid   (d_busy),
        .in_ready   (post_ready),
        .in_last    (d_row == LAST_ROW),
        .in_acc     (pe_res[0]),
        .in_mult    (d_mult),
        .in_shift   (d_shift),
        .in_out_zp  (d_out_zp),
        .in_act_min (d_act_min),
        .in_act_max (d_act_max),
        .in_raw     (d_raw),
        .in_pool    (d_pool),
        .in_single  (d_round_single),
        .in_fp32    (d_round_fp32),
        .in_grp     (d_grp),
        .out_valid  (res_valid),
        .out_ready  (res_ready),
        .out_last   (res_last),
        .out_data   (res_data)
    );

    always @(posedge clk) begin
        if (rst) begin
            in_tile <= 1'b0;
            d_busy  <= 1'b0;
            d_row   <= {RW{1'b0}};
        end else begin
            if (accept) in_tile <= !op_last;
            if (load) begin
                d_busy <= 1'b1;
                d_row  <= {RW{1'b0}};
            end else if (issue) begin
                d_busy <= !d_done;
                d_row  <= d_row + 1'b1;
            end
        end
    end

    // Parameter copies need no reset: in_tile / d_busy gate their use.
    always @(posedge clk) begin
        if (accept && first) begin
            t_in_zp   <= op_in_zp;
            t_mult    <= op_mult;
            t_shift   <= op_shift;
            t_out_zp  <= op_out_zp;
            t_act_min <= op_act_min;
            t_act_max <= op_act_max;
            t_raw     <= op_raw;
            t_pool    <= op_pool;
            t_depthwise    <= op_depthwise;
            t_round_single <= op_round_single;
            t_round_fp32   <= op_round_fp32;
        end
        if (load) begin
            d_mult    <= mult_now;
            d_shift   <= shift_now;
            d_out_zp  <= out_zp_now;
            d_act_min <= act_min_now;
            d_act_max <= act_max_now;
            d_raw     <= raw_now;
            d_pool    <= pool_now && POOL_OK;
            d_round_single <= round_single_now;
            d_round_fp32   <= round_fp32_now;
        end
    end
endmodule

`default_nettype wire
