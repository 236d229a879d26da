// Back half of TFLite's MultiplyByQuantizedMultiplier for one lane, purely
// combinational, followed by the output zero point and activation clamp.
//
// Input is the exact 64-bit sum = x * M + round (x already left-shifted in
// double rounding; kpu_post's stage 2 adds the rounding constant with the
// multiply) and the flag for the one overflowing case x == M == INT32_MIN.
// Double rounding (single = 0, TFLite reference), round = nudge:
//   SaturatingRoundingDoublingHighMul:
//     (x * M + nudge) / 2^31 with C truncation, nudge = 2^30 or 1 - 2^30
//   RoundingDivideByPOT(high, rs): gemmlowp mask / remainder / threshold form
// Single rounding (single = 1, TFLITE_SINGLE_ROUNDING), rs = 31 - shift,
// round = 2^(rs - 1):
//   (x * M + 2^(rs - 1)) >>> rs, saturated to int32 (TFLite DCHECKs that it
//   fits; saturating gives the int8 the exact value would give after the clamp)
// fp32 (fp32 = 1, XNNPACK): result = fp32_q, the product already rounded to an integer by
// kpu_fp32_round (saturated to +-1023, which every int8 clamp saturates the same way)
// then
//   out = min(max(result + output_zp, act_min), act_max)   (TFLite's order)
// act_min/act_max are int8, so the clamp also saturates to int8.
`default_nettype none

module kpu_requant (
    input  wire signed [63:0] sum,       // x * M + rounding constant
    input  wire               ovf,       // x == M == INT32_MIN: saturate (double)
    input  wire               single,    // single rounding, else double
    input  wire               fp32,      // fp32 requantization (overrides single)
    input  wire signed [10:0] fp32_q,    // its integer result, from kpu_fp32_round
    input  wire        [5:0]  rs,        // right shift: double 0..31, single 1..62
    input  wire signed [7:0]  out_zp,
    input  wire signed [7:0]  act_min,
    input  wire signed [7:0]  act_max,
    output wire signed [7:0]  q
);
    // --- single rounding ---------------------------------------------------
    wire signed [63:0] t_shr  = sum >>> rs;
    // Fits int32 iff bits 63:31 are all equal; else saturate by the sign.
    wire               fits   = (t_shr[63:31] == {33{t_shr[63]}});
    wire signed [31:0] sat    = t_shr[63] ? 32'sh80000000 : 32'sh7fffffff;
    wire signed [31:0] single_32 = fits ? t_shr[31:0] : sat;
    wire signed [32:0] single_q  = {single_32[31], single_32};

    // --- SRDHM -----------------------------------------------------------
    // Arithmetic shift floors; C division truncates, so negative values with a
    // non-zero remainder move up by one. Bits above 62 only matter for the
    // saturating case, which ovf replaces.
    wire               round_up = sum[63] && (sum[30:0] != 31'd0);
    wire signed [31:0] high_raw = sum[62:31] + {31'd0, round_up};
    wire signed [31:0] high     = ovf ? 32'sh7fffffff : high_raw;

    // --- RDBPOT ----------------------------------------------------------
    // 33 bits so the mask and shift stay well defined for every 6-bit rs.
    wire signed [32:0] hx        = {high[31], high};
    wire        [32:0] mask      = (33'd1 << rs) - 33'd1;
    wire        [32:0] remainder = hx & mask;
    wire        [32:0] threshold = (mask >> 1) + {32'd0, high[31]};
    wire signed [32:0] floor_q   = hx >>> rs;
    wire signed [32:0] double_q  = floor_q + {32'd0, remainder > threshold};
    wire signed [32:0] scaled    = fp32 ? {{22{fp32_q[10]}}, fp32_q} : single ? single_q : double_q;

    // --- zero point and clamp --------------------------------------------
    wire signed [33:0] with_zp = {scaled[32], scaled} + {{26{out_zp[7]}}, out_zp};
    wire signed [33:0] lo      = {{26{act_min[7]}}, act_min};
    wire signed [33:0] hi      = {{26{act_max[7]}}, act_max};
    wire signed [33:0] at_lo   = (with_zp < lo) ? lo : with_zp;
    // After the clamp the value is an int8: bits 33:8 are only its sign
    // extension, hence unused.
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [33:0] clamped = (at_lo > hi) ? hi : at_lo;
    /* verilator lint_on UNUSEDSIGNAL */

    assign q = clamped[7:0];
endmodule

`default_nettype wire
