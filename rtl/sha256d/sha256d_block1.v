// Second 64-byte block of the header hash: header bytes 64..79 plus padding.
// The header stores the nonce little-endian (bytes 76..79 = nonce[7:0] first)
// while SHA-256 reads words big-endian, so message word 3 is the byte-swapped
// nonce. The rest is fixed padding for an 80-byte (640-bit) message.
`default_nettype none

module sha256d_block1 (
    input  wire [95:0]  tail,   // header bytes 64..75, byte 64 in [95:88]
    input  wire [31:0]  nonce,  // the header's nonce integer
    output wire [511:0] block   // word 0 in [511:480]
);
    assign block = {tail,
                    nonce[7:0], nonce[15:8], nonce[23:16], nonce[31:24],
                    32'h80000000,   // the 1 bit that ends the message
                    320'd0,         // words 5..14
                    32'h00000280};  // message length: 640 bits
endmodule

`default_nettype wire
