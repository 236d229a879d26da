// Message schedule step (FIPS 180-4 section 6.2.2 step 1): given the 16-word
// window W[t-16..t-1] (window[511:480] = W[t-16]), produce W[t].
`default_nettype none

module sha256_w_next (
    // The recurrence taps only W[t-16], W[t-15], W[t-7] and W[t-2] of the window.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [511:0] window,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [31:0]  w_next
);
    wire [31:0] w_minus16 = window[511:480];
    wire [31:0] w_minus15 = window[479:448];
    wire [31:0] w_minus7  = window[223:192];
    wire [31:0] w_minus2  = window[63:32];

    wire [31:0] small_sigma0 = {w_minus15[6:0], w_minus15[31:7]} ^ {w_minus15[17:0], w_minus15[31:18]} ^ (w_minus15 >> 3);
    wire [31:0] small_sigma1 = {w_minus2[16:0], w_minus2[31:17]} ^ {w_minus2[18:0], w_minus2[31:19]} ^ (w_minus2 >> 10);

    assign w_next = small_sigma1 + w_minus7 + small_sigma0 + w_minus16;
endmodule

`default_nettype wire
