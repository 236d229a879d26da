// Formal harness of crc32_core's init/next/ready/crc_valid handshakes (rtl/crc32/crc32_core.v).
// Free inputs are this module's ports (so a counterexample replays in Verilator). A small
// reference of the handshake (how many cycles a word still takes, whether crc is complete)
// says what the ports must show:
//   reset_state     after reset: ready high, crc_valid low
//   ready_exact     ready is low exactly while an accepted word of n bytes is absorbed (n cycles)
//   valid_exact     crc_valid rises on init, drops on an accepted next, rises when its word is absorbed
//   valid_ready     crc_valid implies ready (a complete CRC is never mid-word)
//   init_empty      the cycle after init the CRC is that of the empty message (0)
//   crc_stable      while crc_valid and no init/next is taken, crc holds its value
//   busy_ignores    a next while busy (or with nbytes 0 or > 4) changes nothing visible
// The CRC arithmetic itself is simulation's (tb/crc32, models/crc32.py): here only the control.
// Property forms used: immediate assert/assume in always blocks, $past.
`default_nettype none

module crc32_formal (
    input wire        clk,
    input wire        rst_n,
    input wire        init,
    input wire        next,
    input wire [31:0] data,
    input wire [2:0]  nbytes
);
    wire        ready;
    wire        crc_valid;
    wire [31:0] crc;

    crc32_core dut (
        .clk(clk), .rst_n(rst_n), .init(init), .next(next), .data(data), .nbytes(nbytes),
        .ready(ready), .crc_valid(crc_valid), .crc(crc)
    );

    wire take = !init && next && ready && nbytes != 3'd0 && nbytes <= 3'd4;

    reg [2:0] left;      // cycles the accepted word still needs
    reg       complete;  // crc covers every byte absorbed since init
    always @(posedge clk) begin
        if (!rst_n) begin
            left     <= 3'd0;
            complete <= 1'b0;
        end else if (init) begin
            left     <= 3'd0;
            complete <= 1'b1;
        end else if (take) begin
            left     <= nbytes;
            complete <= 1'b0;
        end else if (left != 3'd0) begin
            left     <= left - 3'd1;
            complete <= left == 3'd1;
        end
    end

    reg f_past_valid = 1'b0;
    always @(posedge clk) f_past_valid <= 1'b1;

    always @(*) begin
        if (!f_past_valid) assume (!rst_n);
        if (f_past_valid && rst_n) begin
            left_in_range: assert (left <= 3'd4);
            ready_exact:   assert (ready == (left == 3'd0));
            valid_exact:   assert (crc_valid == complete);
            valid_ready:   assert (!crc_valid || ready);
        end
    end

    always @(posedge clk) begin
        if (f_past_valid && rst_n && $past(f_past_valid)) begin
            if (!$past(rst_n)) reset_state: assert (ready && !crc_valid);
            if ($past(rst_n) && $past(init)) init_empty: assert (crc == 32'd0 && crc_valid);
            if ($past(rst_n) && $past(crc_valid) && !$past(init) && !$past(take))
                crc_stable: assert (crc == $past(crc) && crc_valid);
            if ($past(rst_n) && !$past(init) && $past(next) && !$past(take) && $past(left) > 3'd1)
                busy_ignores: assert (!ready && left == $past(left) - 3'd1);
        end
    end
endmodule

`default_nettype wire
