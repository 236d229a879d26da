// SHA-256d (Bitcoin proof-of-work) mining core.
//
// A job is 1..4 midstates (e.g. one per rolled header version, AsicBoost), the
// 12-byte header tail, an inclusive nonce range and a 256-bit target. The core
// hashes every (nonce, midstate) pair of the range and reports each hit, i.e.
// each pair whose sha256d(header), read as a little-endian 256-bit integer
// (Bitcoin's convention), is <= job_target (equality is a hit).
//
// Micro-architecture (parameter PIPELINED):
//   0: sha256d_iterative, one round engine, 129 cycles per (nonce, midstate),
//      127 for one dropped by the early reject (below); with no item dropped
//      (an easy target) done rises 129*N*M + 2 clock edges after the edge
//      that accepts a job of N nonces x M midstates.
//   1: sha256d_pipelined, 125 unrolled round stages after a per-job
//      precomputation (sha256d_precompute: rounds 0..2 of the second header
//      block and schedule words 16, 17, 16 cycles after accept), one
//      (nonce, midstate) per cycle in steady state; done rises N*M + 144
//      edges after accept (16 precompute, 125 round stages, the digest
//      register, the compare register, done).
// Both share this wrapper: job registers, the work sequencer, the early
// reject flag, the target compare and the result FIFO.
//
// Issue and report order: nonce ascending from job_nonce_start to
// job_nonce_end, and for each nonce midstate 0..count-1. Both engines keep
// order, so hits leave the FIFO in that order (models/bitcoin.py search()).
// The nonce is the header's nonce integer (stored little-endian at header
// bytes 76..79); the engines byte-swap it into SHA-256 message word 3.
//
// Jobs: job_ready is always 1. A job accepted while another runs aborts it and
// replaces it (what real miners do on a new block): every item not yet
// compared -- pipeline contents, the iterative engine's current hash -- is
// discarded and no done pulse is given for the aborted job. Hits already in
// the FIFO stay and keep the id of the job that produced them; an item
// compared in the very cycle the new job is accepted is still the old job's
// and is reported with the old id. So the hits seen for an aborted job are
// always a prefix of its full hit list.
// A job with job_nonce_start > job_nonce_end, or job_midstate_count outside
// 1..4, is empty: it hashes nothing and just pulses done.
// The range never wraps: a job ending at 32'hffffffff stops there.
//
// busy is high from the cycle after a job is accepted until its last item
// has been compared. done is a one-cycle pulse in the first cycle busy is low
// again, given only when the job's range is exhausted; by then every hit of
// the job is in the FIFO (res_valid may still be high until it is read).
// An empty job's done rises 1 edge after the accepting edge.
//
// Results: a first-word-fall-through FIFO of FIFO_DEPTH (>= 1) entries read
// with res_valid/res_ready; res_* are meaningful only while res_valid. No hit
// is ever dropped: while the FIFO is full the engine is stalled (the
// iterative engine holds its finished digest, the whole pipeline freezes in
// place, hit or not), so hashing pauses until the reader makes room. The
// reader's res_ready has no combinational path into the engine: the stall
// comes from the FIFO's registered count.
//
// Timing (pipelined): the last feed-forward add, the digest byte reversal and
// the 256-bit compare are split by registers (the engine's digest register,
// then the compare register here), so no path is longer than one round
// stage; `make bench` records the Yosys longest path before and after.
`default_nettype none

module sha256d_miner #(
    parameter PIPELINED  = 0,
    parameter FIFO_DEPTH = 8
) (
    input  wire          clk,
    input  wire          rst,                 // synchronous, active high

    // Job (valid/ready; job_ready is always 1, see above).
    input  wire          job_valid,
    output wire          job_ready,
    input  wire [1023:0] job_midstates,       // midstate i in [256*i +: 256], word 0 in its MSBs
    input  wire [2:0]    job_midstate_count,  // 1..4 midstates in use (slots 0..count-1)
    input  wire [95:0]   job_tail,            // header bytes 64..75, byte 64 in [95:88]
    input  wire [31:0]   job_nonce_start,
    input  wire [31:0]   job_nonce_end,       // inclusive
    input  wire [255:0]  job_target,          // hit when hash integer <= target
    input  wire [7:0]    job_id,              // returned with every hit of this job

    // Hits (valid/ready, first word fall-through).
    output wire          res_valid,
    input  wire          res_ready,
    output wire [7:0]    res_job_id,
    output wire [1:0]    res_midstate_idx,
    output wire [31:0]   res_nonce,

    output wire          busy,                // a job is being hashed
    output reg           done                 // one-cycle pulse: the job's range is exhausted
);
    localparam TAG_W = 8 + 2 + 32;  // {job id, midstate index, nonce}

    // ---- Job registers ---------------------------------------------------
    reg [1023:0] midstates_q;
    reg [1:0]    last_idx_q;   // count - 1
    reg [95:0]   tail_q;
    reg [31:0]   nonce_end_q;
    reg [255:0]  target_q;
    reg [7:0]    id_q;

    reg          running;      // job accepted and not yet finished
    reg          issuing;      // items left to hand to the engine
    reg [31:0]   cur_nonce;
    reg [1:0]    cur_idx;

    wire job_accept = job_valid && job_ready;
    wire job_empty  = (job_midstate_count == 3'd0) || (job_midstate_count > 3'd4) ||
                      (job_nonce_start > job_nonce_end);

    assign job_ready = 1'b1;
    assign busy      = running;

    // ---- Engine ------------------------------------------------------------
    wire             eng_in_ready;
    wire             eng_out_valid;
    wire             eng_out_ready;
    wire [255:0]     eng_digest;
    wire [TAG_W-1:0] eng_tag;
    wire             eng_idle;
    wire             fifo_full;

    wire             pre_busy;  // per-job precomputation still running (pipelined)
    wire             issue     = issuing && eng_in_ready && !pre_busy;
    wire [TAG_W-1:0] issue_tag = {id_q, cur_idx, cur_nonce};
    wire [255:0]     issue_mid = midstates_q[256*cur_idx +: 256];

    // Stall the engine rather than lose a hit: results are taken only when
    // the FIFO has room for one.
    assign eng_out_ready = !fifo_full;

    // Early reject (both engines): a hit needs hash <= target; when the
    // target's top 32 bits are 0 (any real target: difficulty >= 1 means at
    // least 32 leading zero bits) a hit needs digest word 7 == 0, which the
    // engines know 3 rounds before the end, and they drop every item whose
    // word 7 is not 0. The items that pass still go through the full 256-bit
    // compare below, and for easier targets (top word not 0) nothing is
    // dropped, so the hit list stays exact for every target.
    wire reject_h7 = (target_q[255:224] == 32'd0);

    generate
        if (PIPELINED != 0) begin : g_pipelined
            wire [1023:0] prefixes;
            wire [31:0]   w16, w17;
            sha256d_precompute u_pre (
                .clk(clk), .rst(rst), .start(job_accept),
                .midstates(midstates_q), .tail(tail_q),
                .busy(pre_busy), .prefixes(prefixes), .w16(w16), .w17(w17)
            );
            sha256d_pipelined #(.TAG_W(TAG_W)) u_engine (
                .clk(clk), .rst(rst), .flush(job_accept),
                .in_valid(issuing && !pre_busy), .in_ready(eng_in_ready),
                .in_midstate(issue_mid), .in_prefix(prefixes[256*cur_idx +: 256]), .in_tail(tail_q),
                .in_w16(w16), .in_w17(w17), .in_nonce(cur_nonce), .in_tag(issue_tag), .reject_h7(reject_h7),
                .out_valid(eng_out_valid), .out_ready(eng_out_ready),
                .out_digest(eng_digest), .out_tag(eng_tag),
                .idle(eng_idle)
            );
        end else begin : g_iterative
            assign pre_busy = 1'b0;
            sha256d_iterative #(.TAG_W(TAG_W)) u_engine (
                .clk(clk), .rst(rst), .flush(job_accept),
                .in_valid(issuing), .in_ready(eng_in_ready),
                .in_midstate(issue_mid), .in_tail(tail_q), .in_nonce(cur_nonce), .in_tag(issue_tag),
                .reject_h7(reject_h7),
                .out_valid(eng_out_valid), .out_ready(eng_out_ready),
                .out_digest(eng_digest), .out_tag(eng_tag),
                .idle(eng_idle)
            );
        end
    endgenerate

    // ---- Target compare ------------------------------------------------------
    // Bitcoin reads the digest bytes as a little-endian integer: digest byte 0
    // (bits [255:248]) is the least significant byte.
    wire [255:0] hash_value;
    genvar b;
    generate
        for (b = 0; b < 32; b = b + 1) begin : g_byte_rev
            assign hash_value[8*b +: 8] = eng_digest[255 - 8*b -: 8];
        end
    endgenerate

    // target_q still belongs to the digest's job: a new job flushes the engine
    // in the same edge that loads its target.
    wire hit = (hash_value <= target_q);

    // Pipelined: the compare result is registered (one more stage, advancing
    // with the engine and never flushed: an item compared in the cycle a new
    // job is accepted is still reported with its own job's id), so the FIFO
    // write is not in series with the 256-bit compare. Iterative: the compare
    // feeds the FIFO directly (129 cycles per item leave it plenty of slack).
    wire             cmp_valid;
    wire             cmp_hit;
    wire [TAG_W-1:0] cmp_tag;
    generate
        if (PIPELINED != 0) begin : g_cmp_reg
            reg             valid_q;
            reg             hit_q;
            reg [TAG_W-1:0] tag_q;
            always @(posedge clk) begin
                if (rst)                valid_q <= 1'b0;
                else if (eng_out_ready) valid_q <= eng_out_valid;
            end
            always @(posedge clk) begin
                if (eng_out_ready) begin
                    hit_q <= hit;
                    tag_q <= eng_tag;
                end
            end
            assign cmp_valid = valid_q;
            assign cmp_hit   = hit_q;
            assign cmp_tag   = tag_q;
        end else begin : g_cmp_comb
            assign cmp_valid = eng_out_valid;
            assign cmp_hit   = hit;
            assign cmp_tag   = eng_tag;
        end
    endgenerate
    wire fifo_wr = cmp_valid && !fifo_full && cmp_hit;

    sha256d_fifo #(.WIDTH(TAG_W), .DEPTH(FIFO_DEPTH)) u_fifo (
        .clk(clk), .rst(rst),
        .wr_en(fifo_wr), .wr_data(cmp_tag), .full(fifo_full),
        .rd_valid(res_valid), .rd_ready(res_ready),
        .rd_data({res_job_id, res_midstate_idx, res_nonce})
    );

    // ---- Sequencer -------------------------------------------------------------
    always @(posedge clk) begin
        if (rst) begin
            running <= 1'b0;
            issuing <= 1'b0;
            done    <= 1'b0;
        end else begin
            done <= 1'b0;
            if (job_accept) begin
                running <= 1'b1;
                issuing <= !job_empty;
            end else begin
                if (issue && cur_idx == last_idx_q && cur_nonce == nonce_end_q)
                    issuing <= 1'b0;  // last item handed over; never wrap past the end
                if (running && !issuing && eng_idle && !(PIPELINED != 0 && cmp_valid)) begin
                    running <= 1'b0;
                    done    <= 1'b1;
                end
            end
        end
    end

    // Job fields and the item counters need no reset: running/issuing gate them.
    always @(posedge clk) begin
        if (job_accept) begin
            midstates_q <= job_midstates;
            last_idx_q  <= job_midstate_count[1:0] - 2'd1;
            tail_q      <= job_tail;
            nonce_end_q <= job_nonce_end;
            target_q    <= job_target;
            id_q        <= job_id;
            cur_nonce   <= job_nonce_start;
            cur_idx     <= 2'd0;
        end else if (issue) begin
            if (cur_idx == last_idx_q) begin
                cur_idx <= 2'd0;
                if (cur_nonce != nonce_end_q) cur_nonce <= cur_nonce + 32'd1;
            end else begin
                cur_idx <= cur_idx + 2'd1;
            end
        end
    end
endmodule

`default_nettype wire
