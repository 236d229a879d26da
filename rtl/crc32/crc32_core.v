// CRC-32 (IEEE 802.3 / zlib: reflected polynomial 0xEDB88320, initial value and final
// XOR 0xFFFFFFFF) over a byte stream, one byte per clock.
//
// Interface in the style of many open-source cores (not valid/ready):
//   rst_n       synchronous, active low.
//   init        one-cycle pulse: start a new message (CRC register := 0xFFFFFFFF).
//   next        one-cycle pulse while `ready`: absorb `data`, `nbytes` (1..4) bytes of it,
//               data[7:0] first. Ignored while busy (ready low) or with nbytes = 0 or > 4.
//   ready       high when a `next` can be taken (not absorbing a word).
//   crc_valid   level: high when `crc` holds the CRC of every byte absorbed since `init`;
//               drops on `init` or `next`, rises again when the word is absorbed, and stays
//               high until the next `init` or `next`.
//   crc         the CRC-32 of the message so far (final XOR applied).
// Timing: a word of n bytes takes n cycles after the `next` edge; `init` and `next` in the same
// cycle: `init` wins.
`default_nettype none

module crc32_core (
    input  wire        clk,
    input  wire        rst_n,
    input  wire        init,
    input  wire        next,
    input  wire [31:0] data,
    input  wire [2:0]  nbytes,
    output wire        ready,
    output wire        crc_valid,
    output wire [31:0] crc
);
    reg  [31:0] state;       // CRC register, before the final XOR
    reg  [31:0] pending;     // bytes still to absorb, next one in [7:0]
    reg  [2:0]  remaining;   // how many
    reg         valid;       // state is complete for the message so far

    wire [31:0] state_next;

    crc32_byte u_byte (.crc_in(state), .byte_in(pending[7:0]), .crc_out(state_next));

    always @(posedge clk) begin
        if (!rst_n) begin
            state     <= 32'hffffffff;
            pending   <= 32'd0;
            remaining <= 3'd0;
            valid     <= 1'b0;
        end else if (init) begin
            state     <= 32'hffffffff;
            remaining <= 3'd0;
            valid     <= 1'b1;
        end else if (next && ready && nbytes != 3'd0 && nbytes <= 3'd4) begin
            pending   <= data;
            remaining <= nbytes;
            valid     <= 1'b0;
        end else if (remaining != 3'd0) begin
            state     <= state_next;
            pending   <= {8'd0, pending[31:8]};
            remaining <= remaining - 3'd1;
            valid     <= remaining == 3'd1;
        end
    end

    assign ready     = remaining == 3'd0;
    assign crc_valid = valid;
    assign crc       = ~state;
endmodule

`default_nettype wire
