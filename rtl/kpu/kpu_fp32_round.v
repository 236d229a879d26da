// Back half of the KPU's fp32 requantization for one lane, purely combinational, in kpu_post's stage 3:
// the exact 48-bit product P of the two significands (kpu_fp32_norm) is rounded as XNNPACK's float
// arithmetic rounds it, twice:
//   1. to the binary32 product: 24 significant bits, to nearest even (the fp32 multiply);
//   2. to an integer, to nearest even (XNNPACK's magic-bias add / lrintf / _mm256_cvtps_epi32).
// With n = P[47] the product is m * 2^(x + n) (m the rounded 24-bit significand, up to 2^24 after a
// carry), x from kpu_fp32_norm's `code` = -x - 14, so the integer is m rounded at bit k - 1 where
// k = -(x + n) = code + 14 - n:
//   j = code - n <= 0   -> |value| >= 2^9: saturated magnitude (any int8 clamp then saturates)
//   j >= 11             -> |value| <= 1/2: 0 (a tie at exactly 1/2 rounds to even, 0)
//   else                -> k = j + 14 in 15..24: m >> k, rounded to nearest even
// q is the signed result before the zero point: |q| <= 512, or 1023 when saturated.
`default_nettype none

module kpu_fp32_round (
    input  wire        [47:0] p,         // exact product of two 24-bit significands (or 0)
    input  wire        [3:0]  code,
    input  wire               sign,
    output wire signed [10:0] q
);
    // 1. round to a 24-bit significand (the fp32 product), to nearest even
    wire        n      = p[47];
    wire [23:0] top    = n ? p[47:24] : p[46:23];
    wire        guard  = n ? p[23] : p[22];
    wire        sticky = n ? (p[22:0] != 23'd0) : (p[21:0] != 22'd0);
    wire        up     = guard && (sticky || top[0]);
    wire [24:0] m      = {1'b0, top} + {24'd0, up};

    // 2. round m * 2^-k to an integer, to nearest even
    wire signed [4:0] j    = $signed({1'b0, code}) - $signed({4'd0, n});
    wire              sat  = (j <= 5'sd0);
    wire              zero = (j >= 5'sd11);
    // k - 1 = j + 13 (14..23 in the window; only its low 5 bits are used)
    wire        [4:0] km1  = j[4:0] + 5'd13;
    // integer part and the guard bit; in the window h < 2^11, and outside it sat / zero override q
    /* verilator lint_off UNUSEDSIGNAL */
    wire       [24:0] h    = m >> km1;
    /* verilator lint_on UNUSEDSIGNAL */
    wire       [24:0] low  = m & ~({25{1'b1}} << km1);        // the bits below the guard
    wire        [9:0] q0   = h[10:1];                         // m >> k, at most 512
    wire              up2  = h[0] && ((low != 25'd0) || q0[0]);
    wire        [9:0] qi   = q0 + {9'd0, up2};

    wire        [9:0] mag  = sat ? 10'd1023 : zero ? 10'd0 : qi;
    assign q = sign ? -$signed({1'b0, mag}) : $signed({1'b0, mag});
endmodule

`default_nettype wire
