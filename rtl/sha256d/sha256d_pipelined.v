// Fully unrolled SHA-256d hash engine: 128 registered round stages (64 for the
// second block of the header hash, 64 for the second hash) and a register
// after the final feed-forward add, one work item accepted per clock. Same
// item/digest interface as sha256d_iterative.
//
// Latency: an item accepted at clock edge n is out_valid after edge n+129
// (the digest register) and is taken at edge n+129 when out_ready.
// The tag travels with the data through every stage, so each digest leaves
// with the tag (job id, midstate index, nonce) of the item that produced it.
// Flow control: the whole pipeline advances only while out_ready is high
// (in_ready = out_ready), so nothing is ever dropped on a stall.
// flush empties every stage (clears the valid bits) and wins over accept.
// The message schedule is computed on the fly, one sha256_w_next per stage.
`default_nettype none

module sha256d_pipelined #(
    parameter TAG_W = 42
) (
    input  wire             clk,
    input  wire             rst,          // synchronous, active high
    input  wire             flush,        // discard work in flight

    input  wire             in_valid,
    output wire             in_ready,
    input  wire [255:0]     in_midstate,  // SHA-256 state after header bytes 0..63
    input  wire [95:0]      in_tail,      // header bytes 64..75
    input  wire [31:0]      in_nonce,
    input  wire [TAG_W-1:0] in_tag,

    output wire             out_valid,
    input  wire             out_ready,
    output wire [255:0]     out_digest,   // sha256d(header), word 0 in [255:224]
    output wire [TAG_W-1:0] out_tag,

    output wire             idle          // no stage holds an item
);
    wire [255:0] iv;
    sha256_iv u_iv (.iv(iv));

    // The first hash also carries its midstate, needed for the feed-forward.
    localparam SIDE1_W = 256 + TAG_W;

    wire en = out_ready;

    // Index r is the input of round r; index 64 the output of round 63.
    wire               h1_valid  [0:64];
    wire [255:0]       h1_state  [0:64];
    wire [511:0]       h1_window [0:64];
    wire [SIDE1_W-1:0] h1_side   [0:64];
    wire               h2_valid  [0:64];
    wire [255:0]       h2_state  [0:64];
    wire [511:0]       h2_window [0:64];
    wire [TAG_W-1:0]   h2_side   [0:64];

    wire [511:0] first_block;
    wire [255:0] hash1;
    wire [511:0] second_block;

    sha256d_block1 u_block1 (.tail(in_tail), .nonce(in_nonce), .block(first_block));

    assign in_ready     = en && !flush;
    assign h1_valid[0]  = in_valid && !flush;
    assign h1_state[0]  = in_midstate;
    assign h1_window[0] = first_block;
    assign h1_side[0]   = {in_midstate, in_tag};

    genvar r;
    generate
        for (r = 0; r < 64; r = r + 1) begin : g_hash1
            sha256d_pipe_stage #(.ROUND(r), .SIDE_W(SIDE1_W)) u_stage (
                .clk(clk), .rst(rst), .flush(flush), .en(en),
                .valid_in(h1_valid[r]), .state_in(h1_state[r]), .window_in(h1_window[r]), .side_in(h1_side[r]),
                .valid_out(h1_valid[r+1]), .state_out(h1_state[r+1]), .window_out(h1_window[r+1]), .side_out(h1_side[r+1])
            );
        end
    endgenerate

    // Between the hashes: feed-forward of the first digest, which becomes the
    // second hash's message; the second hash starts from iv.
    sha256_state_add u_add1   (.chain(h1_side[64][SIDE1_W-1 -: 256]), .working(h1_state[64]), .sum(hash1));
    sha256d_block2    u_block2 (.digest(hash1), .block(second_block));

    assign h2_valid[0]  = h1_valid[64];
    assign h2_state[0]  = iv;
    assign h2_window[0] = second_block;
    assign h2_side[0]   = h1_side[64][TAG_W-1:0];

    generate
        for (r = 0; r < 64; r = r + 1) begin : g_hash2
            sha256d_pipe_stage #(.ROUND(r), .SIDE_W(TAG_W)) u_stage (
                .clk(clk), .rst(rst), .flush(flush), .en(en),
                .valid_in(h2_valid[r]), .state_in(h2_state[r]), .window_in(h2_window[r]), .side_in(h2_side[r]),
                .valid_out(h2_valid[r+1]), .state_out(h2_state[r+1]), .window_out(h2_window[r+1]), .side_out(h2_side[r+1])
            );
        end
    endgenerate

    // The second feed-forward add gets a register stage of its own, so it is
    // not in series with the miner's compare (stage 129).
    wire [255:0] digest;
    sha256_state_add u_add2 (.chain(iv), .working(h2_state[64]), .sum(digest));

    reg             digest_valid;
    reg [255:0]     digest_q;
    reg [TAG_W-1:0] digest_tag;
    always @(posedge clk) begin
        if (rst || flush) digest_valid <= 1'b0;
        else if (en)      digest_valid <= h2_valid[64];
    end
    always @(posedge clk) begin
        if (en) begin
            digest_q   <= digest;
            digest_tag <= h2_side[64];
        end
    end

    assign out_valid  = digest_valid;
    assign out_digest = digest_q;
    assign out_tag    = digest_tag;

    // Any valid bit set means an item is in flight.
    wire [127:0] valid_bits;
    generate
        for (r = 0; r < 64; r = r + 1) begin : g_valid
            assign valid_bits[r]      = h1_valid[r+1];
            assign valid_bits[64 + r] = h2_valid[r+1];
        end
    endgenerate
    assign idle = ~|valid_bits && !digest_valid;
endmodule

`default_nettype wire
