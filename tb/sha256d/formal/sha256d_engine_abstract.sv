// Formal-only abstraction of the iterative SHA-256d engine, with the real engine's name and ports
// (rtl/sha256d/sha256d_iterative.v): the miner's walk task builds the real miner with this file in
// place of the real engine, so the proof is about the control around the engine (sequencer,
// compare, FIFO, abort), not about 128 SHA-256 rounds (out of reach for a solver).
// The abstraction keeps the engine's contract: one item at a time, any latency (a free choice each
// cycle), the tag returned unchanged, flush drops the item in flight, and the early reject drops
// only items whose digest word 7 is not zero. Its digest is a stand-in the checker can recompute:
// the little-endian hash integer is {8{nonce ^ {idx, 30'b0}}} of the item's tag.
`default_nettype none

module sha256d_iterative #(
    parameter TAG_W = 42
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             flush,
    input  wire             in_valid,
    output wire             in_ready,
    input  wire [255:0]     in_midstate,
    input  wire [95:0]      in_tail,
    input  wire [31:0]      in_nonce,
    input  wire [TAG_W-1:0] in_tag,
    input  wire             reject_h7,
    output wire             out_valid,
    input  wire             out_ready,
    output wire [255:0]     out_digest,
    output wire [TAG_W-1:0] out_tag,
    output wire             idle
);
    (* anyseq *) reg f_finish;  // the solver picks when the item in flight is finished

    reg             holding;
    reg             finished;
    reg [TAG_W-1:0] tag_q;

    wire [31:0]  fold = tag_q[31:0] ^ {tag_q[33:32], 30'd0};
    wire [255:0] value = {8{fold}};
    genvar b;
    for (b = 0; b < 32; b = b + 1) begin : g_rev
        assign out_digest[255 - 8*b -: 8] = value[8*b +: 8];
    end
    wire drop = reject_h7 && out_digest[31:0] != 32'd0;

    assign in_ready  = !flush && (!holding || (finished && out_ready));
    assign out_valid = holding && finished;
    assign out_tag   = tag_q;
    assign idle      = !holding;

    always @(posedge clk) begin
        if (rst || flush) begin
            holding <= 1'b0;
        end else if (in_valid && in_ready) begin
            holding  <= 1'b1;
            finished <= 1'b0;
            tag_q    <= in_tag;
        end else if (out_valid && out_ready) begin
            holding <= 1'b0;
        end else if (holding && !finished && f_finish) begin
            if (drop) holding <= 1'b0;
            else finished <= 1'b1;
        end
    end

    wire unused = &{1'b0, in_midstate, in_tail, in_nonce};
endmodule

`default_nettype wire
