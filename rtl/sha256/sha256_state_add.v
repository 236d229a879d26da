// Feed-forward of a compression: H(i) = H(i-1) + working state, eight
// independent 32-bit additions modulo 2^32.
`default_nettype none

module sha256_state_add (
    input  wire [255:0] chain,    // H(i-1), word 0 in [255:224]
    input  wire [255:0] working,  // a..h after round 63
    output wire [255:0] sum
);
    genvar i;
    generate
        for (i = 0; i < 8; i = i + 1) begin : g_add
            assign sum[32*i +: 32] = chain[32*i +: 32] + working[32*i +: 32];
        end
    endgenerate
endmodule

`default_nettype wire
