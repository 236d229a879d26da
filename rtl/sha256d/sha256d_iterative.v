// Iterative SHA-256d hash engine: one sha256_round instance does all 128
// rounds of one (midstate, nonce) hash, one round per clock.
//
// Work item in (valid/ready): midstate + header tail + nonce, and an opaque tag
// that comes back with the digest. Digest out (valid/ready) as SHA-256 words,
// word 0 in [255:224] (i.e. digest byte 0 in [255:248]).
// Timing: accept -> 64 rounds of the first hash's second block -> 64 rounds of
// the second hash -> out_valid, i.e. out_valid 129 cycles after accept. A new
// item is accepted in the cycle the digest is taken, so back-to-back items
// cost 129 cycles each. Early reject (reject_h7, see sha256d_miner): an item
// whose digest word 7 is not 0 is dropped in round 61 of the second hash
// (no digest) and the next is accepted the cycle after, 127 cycles per item.
// flush drops the item in flight (digest not yet taken) and wins over accept.
`default_nettype none

module sha256d_iterative #(
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
    input  wire             reject_h7,    // the job's target needs digest word 7 == 0 (early reject)

    output wire             out_valid,
    input  wire             out_ready,
    output wire [255:0]     out_digest,   // sha256d(header), word 0 in [255:224]
    output wire [TAG_W-1:0] out_tag,

    output wire             idle          // nothing in flight, no digest pending
);
    wire [255:0] iv;
    sha256_iv u_iv (.iv(iv));

    localparam [1:0] IDLE = 2'd0, HASH1 = 2'd1, HASH2 = 2'd2, DONE = 2'd3;

    reg  [1:0]       phase;
    reg  [5:0]       round;
    reg  [255:0]     chain;    // midstate during HASH1, iv during HASH2
    reg  [255:0]     working;  // a..h
    reg  [511:0]     window;   // W[t..t+15], W[t] in [511:480]
    reg  [255:0]     digest;
    reg  [TAG_W-1:0] tag;

    wire [31:0]  k;
    wire [31:0]  w_next;
    wire [255:0] working_next;
    wire [255:0] sum;          // chain + state after this round (used after round 63)
    wire [511:0] first_block;  // second header block for this item
    wire [511:0] second_block; // the second hash's block, from the first digest

    sha256_k          u_k      (.round(round), .k(k));
    sha256_w_next     u_w_next (.window(window), .w_next(w_next));
    sha256_round      u_round  (.state_in(working), .k(k), .w(window[511:480]), .state_out(working_next));
    sha256_state_add u_add    (.chain(chain), .working(working_next), .sum(sum));
    sha256d_block1    u_block1 (.tail(in_tail), .nonce(in_nonce), .block(first_block));
    sha256d_block2    u_block2 (.digest(sum), .block(second_block));

    wire hashing    = (phase == HASH1) || (phase == HASH2);
    wire last_round = (round == 6'd63);
    // Early reject: digest word 7 is iv[7] + e after round 60 (e only shifts
    // on to h afterwards), so it is 0 exactly when that e is -iv[7]. If the
    // target needs word 7 to be 0 and it is not, the item cannot be a hit and
    // is dropped. Checked on the registered state (in round 61), a compare
    // with a constant, so it adds nothing to the round's path.
    localparam [31:0] NEG_IV7 = 32'ha41f32e7;  // -32'h5be0cd19
    wire reject     = (phase == HASH2) && (round == 6'd61) && reject_h7 &&
                      (working[127:96] != NEG_IV7);
    wire accept     = in_valid && in_ready;

    assign in_ready   = !flush && ((phase == IDLE) || (phase == DONE && out_ready));
    assign out_valid  = (phase == DONE);
    assign out_digest = digest;
    assign out_tag    = tag;
    assign idle       = (phase == IDLE);

    always @(posedge clk) begin
        if (rst || flush) begin
            phase <= IDLE;
            round <= 6'd0;
        end else begin
            case (phase)
                HASH1: begin
                    round <= round + 6'd1;  // wraps to 0 for HASH2
                    if (last_round) phase <= HASH2;
                end
                HASH2: begin
                    round <= round + 6'd1;
                    if (reject)          phase <= IDLE;
                    else if (last_round) phase <= DONE;
                end
                default: begin  // IDLE or DONE
                    if (accept) begin
                        phase <= HASH1;
                        round <= 6'd0;
                    end else if (phase == DONE && out_ready) begin
                        phase <= IDLE;
                    end
                end
            endcase
        end
    end

    // Datapath registers need no reset: phase gates every use of them.
    always @(posedge clk) begin
        if (accept) begin
            chain   <= in_midstate;
            working <= in_midstate;
            window  <= first_block;
            tag     <= in_tag;
        end else if (hashing) begin
            if (phase == HASH1 && last_round) begin
                // First digest done: start the second hash from iv in the same
                // cycle, so the two hashes run back to back.
                chain   <= iv;
                working <= iv;
                window  <= second_block;
            end else begin
                working <= working_next;
                window  <= {window[479:0], w_next};
            end
            if (phase == HASH2 && last_round) digest <= sum;
        end
    end
endmodule

`default_nettype wire
