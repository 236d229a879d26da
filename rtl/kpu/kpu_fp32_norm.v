// Front half of the KPU's fp32 requantization (XNNPACK's qs8 fp32 mode) for one lane, purely
// combinational, in kpu_post's stage 1: the int32 accumulator becomes a binary32 significand (what
// XNNPACK's `(float) acc` / _mm256_cvtepi32_ps gives: round to nearest even for |acc| > 2^24), and the
// column's binary32 scale is decoded, ready for the shared 32x32 multiplier of stage 2 to form the exact
// 48-bit product of the two 24-bit significands.
//
//   acc_f = mant * 2^(msb - 23)         mant in [2^23, 2^24), msb = position of acc's leading one
//                                       (+ 1 when rounding carries out)
//   scale = smant * 2^(E - 150)         smant = {1, scale[22:0]}, E = scale[30:23]
//   value = acc_f * scale = P * 2^(msb + E - 173),  P = mant * smant, 2^46 <= P < 2^48
//
// kpu_fp32_round rounds P to 24 bits (the fp32 product) at bit 23 + P[47] and then to an integer, so
// only x = msb + E - 150 matters, and only in a small window: for x + P[47] >= -14 the product is at least
// 2^9 (every int8 clamp saturates), for x + P[47] <= -25 it is below 1/2 (rounds to 0). `code` carries
// that window in 4 bits:
//   code = 0           x >= -14                 (saturate)
//   code = -x - 14     -25 <= x <= -15          (1..11)
//   code = 12          x <= -26, acc == 0, or a zero / subnormal scale (E == 0: |value| < 2^-95,
//                      rounds to 0 as XNNPACK's exact subnormal arithmetic would)
// E == 255 (Inf / NaN scale) is outside the mode (models/kpu.py refuses it); it lands in "saturate".
`default_nettype none

module kpu_fp32_norm (
    input  wire signed [31:0] acc,
    input  wire        [31:0] scale,     // IEEE-754 binary32 bit pattern
    output wire        [23:0] mant,      // acc's binary32 significand (hidden bit at 23)
    output wire        [23:0] smant,     // the scale's significand {1, fraction}
    output wire        [3:0]  code,      // exponent window, see above
    output wire               sign       // sign of the product
);
    // |acc| as an unsigned 32-bit value (INT32_MIN gives 2^31, which fits).
    wire [31:0] mag = acc[31] ? (~acc + 32'd1) : acc;

    // Leading-zero count and normalization in one logarithmic shifter.
    wire        z4 = (mag[31:16] == 16'd0);
    wire [31:0] n4 = z4 ? {mag[15:0], 16'd0} : mag;
    wire        z3 = (n4[31:24] == 8'd0);
    wire [31:0] n3 = z3 ? {n4[23:0], 8'd0} : n4;
    wire        z2 = (n3[31:28] == 4'd0);
    wire [31:0] n2 = z2 ? {n3[27:0], 4'd0} : n3;
    wire        z1 = (n2[31:30] == 2'd0);
    wire [31:0] n1 = z1 ? {n2[29:0], 2'd0} : n2;
    wire        z0 = !n1[31];
    wire [31:0] n0 = z0 ? {n1[30:0], 1'b0} : n1;
    wire [4:0]  lz = {z4, z3, z2, z1, z0};

    // Round the 32-bit normalized magnitude to 24 bits, to nearest even.
    wire        guard  = n0[7];
    wire        sticky = (n0[6:0] != 7'd0);
    wire        up     = guard && (sticky || n0[8]);
    wire [24:0] r25    = {1'b0, n0[31:8]} + {24'd0, up};
    wire        carry  = r25[24];               // 2^24: renormalize to 2^23, one more in the exponent

    assign mant  = carry ? 24'h800000 : r25[23:0];
    assign smant = {1'b1, scale[22:0]};
    assign sign  = acc[31] ^ scale[31];

    // t = msb + E = (31 - lz + carry) + E, 0..287; x = t - 150.
    wire [7:0]  e_scale = scale[30:23];
    wire [8:0]  t       = 9'd31 - {4'd0, lz} + {8'd0, carry} + {1'b0, e_scale};
    wire        zero    = (mag == 32'd0) || (e_scale == 8'd0);
    // -x - 14, for t in 125..135: 11..1 (only used there, where it fits 4 bits)
    wire [3:0]  window  = 4'd8 - t[3:0];        // 136 - t modulo 16
    assign code = (zero || t <= 9'd124) ? 4'd12 : (t >= 9'd136) ? 4'd0 : window;
endmodule

`default_nettype wire
