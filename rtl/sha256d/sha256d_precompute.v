// Per-job precomputation for the unrolled engine (what mining ASICs do):
// rounds 0..2 of the header's second block see only the midstate and the
// tail words W0..W2, never the nonce (W3), so they are computed once per job
// for every midstate slot, by one shared round unit in 16 cycles, instead of
// by three pipeline stages for every item. Likewise the schedule words W16
// and W17 depend only on the tail and the padding.
//
// start (the edge that accepts a job) restarts the sequence; the job's
// midstates and tail must be held stable on the inputs from the next cycle
// on (the miner's job registers). busy is high for the 16 cycles after start;
// prefixes/w16/w17 are valid once busy is low again. All four slots are
// computed whatever the job's midstate count (unused slots are don't-care).
`default_nettype none

module sha256d_precompute (
    input  wire          clk,
    input  wire          rst,        // synchronous, active high
    input  wire          start,
    input  wire [1023:0] midstates,  // slot i in [256*i +: 256], word a in its MSBs
    input  wire [95:0]   tail,       // header bytes 64..75 = W0, W1, W2
    output reg           busy,
    output reg  [1023:0] prefixes,   // slot i: state after rounds 0..2
    output reg  [31:0]   w16,
    output reg  [31:0]   w17
);
    reg  [1:0]   slot;
    reg  [1:0]   step;               // 0: load the slot's midstate, 1..3: rounds 0..2
    reg  [255:0] state;

    // The round's operands all come from registers (state, and the round's K
    // and W set up one step ahead), so this unit's path is one round, like a
    // pipeline stage's.
    reg  [31:0]  k;
    reg  [31:0]  w;
    wire [255:0] state_next;

    sha256_round u_round (.state_in(state), .k(k), .w(w), .state_out(state_next));

    // W16 = s1(W14) + W9 + s0(W1) + W0 and W17 = s1(W15) + W10 + s0(W2) + W1,
    // from the first 16 words of the block (W3, the nonce, is not tapped).
    wire [511:0] block0 = {tail, 32'd0, 32'h80000000, 320'd0, 32'h00000280};
    wire [31:0]  w16_next;
    wire [31:0]  w17_next;
    sha256_w_next u_w16 (.window(block0), .w_next(w16_next));
    sha256_w_next u_w17 (.window({block0[479:0], w16_next}), .w_next(w17_next));

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
        end else if (start) begin
            busy <= 1'b1;
            slot <= 2'd0;
            step <= 2'd0;
        end else if (busy) begin
            step <= step + 2'd1;  // wraps to 0: next slot
            if (step == 2'd3) begin
                slot <= slot + 2'd1;
                if (slot == 2'd3) busy <= 1'b0;
            end
        end
    end

    always @(posedge clk) begin
        if (busy) begin
            state <= (step == 2'd0) ? midstates[256*slot +: 256] : state_next;
            case (step)  // K[t] and W[t] of the round the next step runs
                2'd0:    begin k <= 32'h428a2f98; w <= tail[95:64]; end
                2'd1:    begin k <= 32'h71374491; w <= tail[63:32]; end
                2'd2:    begin k <= 32'hb5c0fbcf; w <= tail[31:0];  end
                default: begin k <= 32'h428a2f98; w <= tail[95:64]; end
            endcase
            w16 <= w16_next;
            w17 <= w17_next;
        end
    end
    // One register per slot with its own enable: a write at a variable index
    // would put a shifter after the round.
    genvar i;
    generate
        for (i = 0; i < 4; i = i + 1) begin : g_prefix
            always @(posedge clk) begin
                if (busy && step == 2'd3 && slot == i) prefixes[256*i +: 256] <= state_next;
            end
        end
    endgenerate
endmodule

`default_nettype wire
