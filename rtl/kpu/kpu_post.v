// Post-processing pipeline of the KPU: one output row (COLS int32 accumulators,
// bias already included) in per cycle, three register stages, one result row out.
//
//   stage 1  x    = acc << left_shift        (int32 wrap, as TFLite's reference
//                                             `x * (1 << left_shift)`; double
//                                             rounding only, single: x = acc)
//            rs   = right shift: max(-shift, 0) (double), 31 - shift (single)
//            fp32: kpu_fp32_norm turns acc into its binary32 significand (x) and
//            the scale (in_mult's bits) into its significand (the multiplier);
//            rs carries {sign, 0, exponent window code}
//   stage 2  sum  = x * multiplier + round   (exact 64-bit multiply-add per
//                                             column; round is SRDHM's nudge,
//                                             2^30 or 1 - 2^30 by the product's
//                                             sign, or 2^(rs - 1) when single;
//                                             fp32: the exact 48-bit product of
//                                             the significands, round = 0: the
//                                             same multiplier, one per column)
//   stage 3  out  = raw ? acc : sext(kpu_requant(sum, ...))
//                  (kpu_requant holds both integer rounding forms, in_single
//                  picks; kpu_fp32_round rounds the fp32 product twice, as
//                  binary32 and then to an integer, and in_fp32 picks it)
// Folding the rounding constant into the multiply (one more addend of its
// partial-product tree) keeps a 64-bit carry chain out of stage 3.
//            pool: out = lane-wise signed max of the 4 rows of a pooling group
//
// Pooling (in_pool, in_grp = the row's position 0..3 in its group of 4
// consecutive rows): stage 3 keeps a running max in the output register
// instead of presenting rows 0..2 of a group: row 0 loads it, rows 1..3 take
// the signed max (of the int32 raw values or the sign-extended int8 results,
// which orders the same as int8), and only row 3 makes out_valid. A pooled
// row therefore leaves on the same cycle the group's last row would have left
// unpooled; rows that are not presented never stall the pipeline, and a
// non-pooled row takes exactly the path it always did.
//
// Flow control: the whole pipeline advances when the output register is empty
// or being taken (en), so with res_ready held high it accepts one row per cycle
// and never bubbles; a stalled output stalls every stage. in_ready = en.
// Per-row parameters travel down the pipeline with the row, so the next tile's
// parameters can enter behind the previous tile's last row.
`default_nettype none

module kpu_post #(
    parameter COLS = 8
) (
    input  wire                 clk,
    input  wire                 rst,        // synchronous, active high

    input  wire                 in_valid,
    output wire                 in_ready,
    input  wire                 in_last,    // last row of a tile
    input  wire [COLS*32-1:0]   in_acc,     // lane c at [32*c +: 32]
    input  wire [COLS*32-1:0]   in_mult,    // int32 multiplier per lane
    input  wire [COLS*6-1:0]    in_shift,   // signed shift per lane, -31..30
    input  wire [7:0]           in_out_zp,
    input  wire [7:0]           in_act_min,
    input  wire [7:0]           in_act_max,
    input  wire                 in_raw,     // pass the accumulators through
    input  wire                 in_pool,    // max-pool groups of 4 rows
    input  wire                 in_single,  // single rounding (else double)
    input  wire                 in_fp32,    // fp32 requantization: in_mult = binary32 scale bits
    input  wire [1:0]           in_grp,     // row's position in its group

    output wire                 out_valid,
    input  wire                 out_ready,
    output wire                 out_last,
    output wire [COLS*32-1:0]   out_data    // int32 (raw) or sign-extended int8
);
    reg                 s1_valid, s2_valid, s3_valid;
    reg                 s1_last,  s2_last,  s3_last;
    reg                 s1_raw,   s2_raw;
    reg                 s1_pool,  s2_pool;
    reg                 s1_single, s2_single;
    reg                 s1_fp32,  s2_fp32;
    reg  [1:0]          s1_grp,   s2_grp;
    reg  [7:0]          s1_zp,    s2_zp;
    reg  [7:0]          s1_min,   s2_min;
    reg  [7:0]          s1_max,   s2_max;
    reg  [COLS*32-1:0]  s1_acc,   s2_acc;   // raw-mode bypass
    reg  [COLS*32-1:0]  s1_x;
    reg  [COLS*32-1:0]  s1_mult;
    reg  [COLS*6-1:0]   s1_rs,    s2_rs;
    reg  [COLS*64-1:0]  s2_sum;
    reg  [COLS-1:0]     s2_ovf;
    reg  [COLS*32-1:0]  s3_data;

    wire                en = !s3_valid || out_ready;

    wire [COLS*32-1:0]  x_new;
    wire [COLS*32-1:0]  mult_new;
    wire [COLS*6-1:0]   rs_new;
    wire [COLS*64-1:0]  sum_new;
    wire [COLS-1:0]     ovf_new;
    wire [COLS*32-1:0]  data_new;
    wire [COLS*32-1:0]  pooled;     // max(s3_data, data_new) per lane
    wire                s2_pool_hold = s2_pool && (s2_grp != 2'd3);  // not presented
    wire                s2_pool_acc  = s2_pool && (s2_grp != 2'd0);  // max with s3

    assign in_ready  = en;
    assign out_valid = s3_valid;
    assign out_last  = s3_last;
    assign out_data  = s3_data;

    genvar c;
    generate
        for (c = 0; c < COLS; c = c + 1) begin : g_col
            // shift > 0 shifts x left before the multiply, shift < 0 is a
            // rounding right shift after it (TFLite convention).
            wire        [5:0]  shift    = in_shift[6*c +: 6];
            wire        [4:0]  ls       = (shift[5] || in_single) ? 5'd0 : shift[4:0];
            wire        [31:0] acc      = in_acc[32*c +: 32];
            wire signed [31:0] x        = s1_x[32*c +: 32];
            wire signed [31:0] mult     = s1_mult[32*c +: 32];
            wire        [5:0]  rs       = s1_rs[6*c +: 6];
            wire signed [7:0]  q;
            wire        [23:0] f_mant, f_smant;
            wire        [3:0]  f_code;
            wire               f_sign;
            wire signed [10:0] f_q;
            // The exact product x * M is negative iff the signs differ and
            // neither is zero; SRDHM's nudge depends only on that sign.
            wire               prod_neg = (x[31] ^ mult[31]) && (x != 32'sd0) && (mult != 32'sd0);
            wire signed [63:0] nudge    = prod_neg ? (64'sd1 - 64'sd1073741824) : 64'sd1073741824;
            wire signed [63:0] half     = 64'sd1 <<< (rs - 6'd1);  // single: 2^(rs - 1), rs >= 1

            kpu_fp32_norm u_fp32_norm (
                .acc   (acc),
                .scale (in_mult[32*c +: 32]),
                .mant  (f_mant),
                .smant (f_smant),
                .code  (f_code),
                .sign  (f_sign)
            );

            assign x_new[32*c +: 32]    = in_fp32 ? {8'd0, f_mant} : acc << ls;
            assign mult_new[32*c +: 32] = in_fp32 ? {8'd0, f_smant} : in_mult[32*c +: 32];
            // single: 31 - shift is 1..62 for TFLite's shifts -31..30; fp32: {sign, 0, code}
            assign rs_new[6*c +: 6]    = in_fp32 ? {f_sign, 1'b0, f_code} :
                                         in_single ? (6'd31 - shift) : shift[5] ? (6'd0 - shift) : 6'd0;
            // 64-bit context: exact; |x * M| <= 2^62 and |round| <= 2^61 cannot overflow
            // (fp32: both factors are 24-bit and positive, the product < 2^48)
            assign sum_new[64*c +: 64]  = x * mult + (s1_fp32 ? 64'sd0 : s1_single ? half : nudge);
            assign ovf_new[c]          = (x == 32'sh80000000) && (mult == 32'sh80000000);

            kpu_fp32_round u_fp32_round (
                .p    (s2_sum[64*c +: 48]),
                .code (s2_rs[6*c +: 4]),
                .sign (s2_rs[6*c + 5]),
                .q    (f_q)
            );

            kpu_requant u_requant (
                .sum     (s2_sum[64*c +: 64]),
                .ovf     (s2_ovf[c]),
                .single  (s2_single),
                .fp32    (s2_fp32),
                .fp32_q  (f_q),
                .rs      (s2_rs[6*c +: 6]),
                .out_zp  (s2_zp),
                .act_min (s2_min),
                .act_max (s2_max),
                .q       (q)
            );

            assign data_new[32*c +: 32] = s2_raw ? s2_acc[32*c +: 32] : {{24{q[7]}}, q};

            wire signed [31:0] held = s3_data[32*c +: 32];
            wire signed [31:0] next = data_new[32*c +: 32];
            assign pooled[32*c +: 32] = (next > held) ? next : held;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            s1_valid <= 1'b0;
            s2_valid <= 1'b0;
            s3_valid <= 1'b0;
        end else if (en) begin
            s1_valid <= in_valid;
            s2_valid <= s1_valid;
            s3_valid <= s2_valid && !s2_pool_hold;
        end
    end

    // Datapath registers need no reset: the valid bits gate every use.
    always @(posedge clk) begin
        if (en) begin
            s1_last <= in_last;
            s1_raw  <= in_raw;
            s1_pool <= in_pool;
            s1_single <= in_single;
            s1_fp32 <= in_fp32;
            s1_grp  <= in_grp;
            s1_zp   <= in_out_zp;
            s1_min  <= in_act_min;
            s1_max  <= in_act_max;
            s1_acc  <= in_acc;
            s1_x    <= x_new;
            s1_mult <= mult_new;
            s1_rs   <= rs_new;

            s2_last <= s1_last;
            s2_raw  <= s1_raw;
            s2_pool <= s1_pool;
            s2_single <= s1_single;
            s2_fp32 <= s1_fp32;
            s2_grp  <= s1_grp;
            s2_zp   <= s1_zp;
            s2_min  <= s1_min;
            s2_max  <= s1_max;
            s2_acc  <= s1_acc;
            s2_rs   <= s1_rs;
            s2_sum  <= sum_new;
            s2_ovf  <= ovf_new;

            s3_last <= s2_last;
            // A bubble must not disturb a pooling group's running max.
            if (s2_valid) s3_data <= s2_pool_acc ? pooled : data_new;
        end
    end
endmodule

`default_nettype wire
