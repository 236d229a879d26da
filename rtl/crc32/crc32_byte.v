// One byte of reflected CRC-32 (polynomial 0xEDB88320): eight shift/XOR steps, combinational.
`default_nettype none

module crc32_byte (
    input  wire [31:0] crc_in,
    input  wire [7:0]  byte_in,
    output wire [31:0] crc_out
);
    wire [31:0] step [0:8];

    assign step[0] = crc_in ^ {24'd0, byte_in};
    genvar i;
    generate
        for (i = 0; i < 8; i = i + 1) begin : g_bit
            assign step[i + 1] = {1'b0, step[i][31:1]} ^ (step[i][0] ? 32'hedb88320 : 32'd0);
        end
    endgenerate
    assign crc_out = step[8];
endmodule

`default_nettype wire
