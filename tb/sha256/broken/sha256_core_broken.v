// Test-only broken variants of sha256_core, built from the real core, for
// tb/test_broken_variants.py: the property tests alone must catch each one.
//   BUG = 1: chaining broken: every block is hashed from H0, so the second block of a
//            message uses the wrong chaining value (the smallest failing input is the
//            smallest two-block message: 56 bytes).
//   BUG = 2: fails for one message length only: a digest whose final block carries the
//            length field of a 119-byte message has its last bit flipped.
//   BUG = 3: protocol: the digest changes while out_valid waits for out_ready (the
//            transferred digest is still right: only the protocol checker sees it).
`default_nettype none

module sha256_core_broken #(
    parameter BUG = 1
) (
    input  wire         clk,
    input  wire         rst,
    input  wire         in_valid,
    output wire         in_ready,
    input  wire [255:0] in_chain,
    input  wire [511:0] in_block,
    output wire         out_valid,
    input  wire         out_ready,
    output wire [255:0] out_digest
);
    wire [255:0] iv;
    wire [255:0] digest;
    reg          length_119;  // the block in flight ends a 119-byte message
    reg          toggle;

    sha256_iv u_iv (.iv(iv));
    sha256_core u_core (
        .clk(clk), .rst(rst),
        .in_valid(in_valid), .in_ready(in_ready), .in_chain(BUG == 1 ? iv : in_chain), .in_block(in_block),
        .out_valid(out_valid), .out_ready(out_ready), .out_digest(digest)
    );

    always @(posedge clk) begin
        if (in_valid && in_ready) length_119 <= in_block[63:0] == 64'd952;
        toggle <= ~toggle;
    end

    assign out_digest = digest ^ {255'd0, BUG == 2 && length_119}
                               ^ {255'd0, BUG == 3 && out_valid && !out_ready && toggle};
endmodule

`default_nettype wire
