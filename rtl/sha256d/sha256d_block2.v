// The single block of the second hash: the 32-byte first digest plus padding
// for a 256-bit message.
`default_nettype none

module sha256d_block2 (
    input  wire [255:0] digest,  // first hash, word 0 in [255:224]
    output wire [511:0] block    // word 0 in [511:480]
);
    assign block = {digest,
                    32'h80000000,   // the 1 bit that ends the message
                    192'd0,         // words 9..14
                    32'h00000100};  // message length: 256 bits
endmodule

`default_nettype wire
