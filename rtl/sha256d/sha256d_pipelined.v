// Fully unrolled SHA-256d hash engine: 125 registered round stages (rounds
// 3..63 of the header's second block -- rounds 0..2 are per job, see
// sha256d_precompute -- and 64 for the second hash) and a register after the
// final feed-forward add, one work item accepted per clock. Same item/digest
// interface as sha256d_iterative plus the per-job inputs, and an early
// reject (below) that drops items which cannot be hits.
//
// Latency: an item accepted at clock edge n is out_valid after edge n+126
// (the digest register) and is taken at edge n+126 when out_ready.
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
    input  wire [255:0]     in_prefix,    // that state after rounds 0..2 (per job, sha256d_precompute)
    input  wire [95:0]      in_tail,      // header bytes 64..75
    input  wire [31:0]      in_w16,       // schedule words 16, 17 (per job, sha256d_precompute)
    input  wire [31:0]      in_w17,
    input  wire [31:0]      in_nonce,
    input  wire [TAG_W-1:0] in_tag,
    input  wire             reject_h7,    // the job's target needs digest word 7 == 0 (early reject)

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
    // The first hash starts at round 3: rounds 0..2 are per job (in_prefix).
    wire               h1_valid  [3:64];
    wire [255:0]       h1_state  [3:64];
    wire [511:0]       h1_window [3:64];
    wire [SIDE1_W-1:0] h1_side   [3:64];
    wire               h2_valid  [0:64];
    wire [255:0]       h2_state  [0:64];
    wire [511:0]       h2_window [0:64];
    wire [TAG_W-1:0]   h2_side   [0:64];

    /* verilator lint_off UNUSEDSIGNAL */
    wire [511:0] first_block;  // W0, W1 only feed the per-job rounds
    /* verilator lint_on UNUSEDSIGNAL */
    wire [255:0] hash1;
    wire [511:0] second_block;
    wire [31:0]  w18;

    // Round 3's window, W3..W18: W16/W17 come with the job, W18 is the first
    // schedule word that sees the nonce (W3).
    sha256d_block1 u_block1 (.tail(in_tail), .nonce(in_nonce), .block(first_block));
    sha256_w_next  u_w18    (.window({first_block[447:0], in_w16, in_w17}), .w_next(w18));

    assign in_ready     = en && !flush;
    assign h1_valid[3]  = in_valid && !flush;
    assign h1_state[3]  = in_prefix;
    assign h1_window[3] = {first_block[415:0], in_w16, in_w17, w18};
    assign h1_side[3]   = {in_midstate, in_tag};

    genvar r;
    generate
        for (r = 3; r < 64; r = r + 1) begin : g_hash1
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

    // Early reject: the digest's word 7 is iv[7] + e after round 60 (it only
    // shifts to h afterwards), so when the target needs word 7 == 0 (every real
    // target) an item whose word 7 is not 0 is dropped before round 61: the last
    // stages, the digest and compare registers stay empty (and could be clock
    // gated). Items that pass still get the full 256-bit compare, and with an
    // easy target (reject_h7 low) nothing is dropped, so hits stay exact.
    localparam [31:0] NEG_IV7 = 32'ha41f32e7;  // -32'h5be0cd19: word 7 == 0 <=> e == -iv[7]
    wire h2_word7_zero = (h2_state[61][127:96] == NEG_IV7);

    generate
        for (r = 0; r < 64; r = r + 1) begin : g_hash2
            wire valid_in = (r == 61) ? h2_valid[r] && (h2_word7_zero || !reject_h7) : h2_valid[r];
            sha256d_pipe_stage #(.ROUND(r), .SIDE_W(TAG_W)) u_stage (
                .clk(clk), .rst(rst), .flush(flush), .en(en),
                .valid_in(valid_in), .state_in(h2_state[r]), .window_in(h2_window[r]), .side_in(h2_side[r]),
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
    wire [124:0] valid_bits;
    generate
        for (r = 3; r < 64; r = r + 1) begin : g_valid1
            assign valid_bits[r - 3] = h1_valid[r+1];
        end
        for (r = 0; r < 64; r = r + 1) begin : g_valid2
            assign valid_bits[61 + r] = h2_valid[r+1];
        end
    endgenerate
    assign idle = ~|valid_bits && !digest_valid;
endmodule

`default_nettype wire
