// Formal harness of the miner's nonce walk (rtl/sha256d/sha256d_miner.v, PIPELINED = 0) with the
// engine abstracted (sha256d_engine_abstract.sv): bounded model check of the control.
//   issue_in_range   every item handed to the engine is of the current job: its id, a nonce in
//                    [start, end], a midstate index below the count; an empty job issues nothing
//   issue_first      the first item of a job is (start, midstate 0)
//   issue_next       each later item is the successor of the one before (midstate + 1, or the
//                    next nonce at midstate 0): with issue_first and done_complete, every nonce
//                    of [start, end] is tried exactly once per midstate, in order
//   issue_stops      nothing is issued after (end, count - 1): the range never wraps
//   engine_current   the engine returns only items of the current job (a new job flushes it)
//   hit_exact        an engine result is written to the FIFO exactly when hash <= target
//   fifo_wr_source   nothing is written to the FIFO without an engine result
//   res_in_range     each result of the current job lies in its range, with hash <= target
//   res_prev_in_range  the same for the previous (aborted or finished) job's results
//   done_complete    done pulses only once the current job's last item was issued (or it was
//                    empty), and once per job: an aborted job gets no done
// The job's fields and the reader's res_ready are free inputs, with two assumptions: each job's id
// is the previous one's + 1 (as a driver numbers them), so results can be attributed; and the
// target is 8 copies of a 32-bit word t (hit iff fold <= t with the abstract hash; t = 0 is the
// early-reject case), which keeps the 256-bit compares within the solver's reach.
// Property forms used: immediate assert/assume in always blocks, $past-free.
`default_nettype none

module sha256d_walk_formal #(
    parameter PIPELINED  = 0,
    parameter FIFO_DEPTH = 2
) (
    input wire         clk,
    input wire         rst,
    input wire         job_valid,
    input wire [2:0]   job_midstate_count,
    input wire [31:0]  job_nonce_start,
    input wire [31:0]  job_nonce_end,
    input wire [255:0] job_target,
    input wire [7:0]   job_id,
    input wire         res_ready
);
    wire        job_ready, res_valid, busy, done;
    wire [7:0]  res_job_id;
    wire [1:0]  res_midstate_idx;
    wire [31:0] res_nonce;

    sha256d_miner #(.PIPELINED(PIPELINED), .FIFO_DEPTH(FIFO_DEPTH)) dut (
        .clk(clk), .rst(rst),
        .job_valid(job_valid), .job_ready(job_ready), .job_midstates(1024'd0),
        .job_midstate_count(job_midstate_count), .job_tail(96'd0), .job_nonce_start(job_nonce_start),
        .job_nonce_end(job_nonce_end), .job_target(job_target), .job_id(job_id),
        .res_valid(res_valid), .res_ready(res_ready), .res_job_id(res_job_id),
        .res_midstate_idx(res_midstate_idx), .res_nonce(res_nonce), .busy(busy), .done(done)
    );

    // Taps into the miner (Verilator: hierarchical references; Yosys: connected by formal.yaml).
`ifdef YOSYS
    wire        t_issue, t_fifo_wr, t_eng_out_valid, t_eng_out_ready;
    wire [41:0] t_issue_tag, t_eng_tag;
`else
    wire        t_issue         = dut.issue;
    wire        t_fifo_wr       = dut.fifo_wr;
    wire        t_eng_out_valid = dut.eng_out_valid;
    wire        t_eng_out_ready = dut.eng_out_ready;
    wire [41:0] t_issue_tag     = dut.issue_tag;
    wire [41:0] t_eng_tag       = dut.eng_tag;
`endif

    // The abstract engine's hash is {8{fold}}: against a target {8{t}} it is a hit iff fold <= t.
    function hit_of(input [31:0] nonce, input [1:0] idx, input [31:0] t);
        hit_of = (nonce ^ {idx, 30'd0}) <= t;
    endfunction

    // The current and the previous job, as accepted.
    reg [7:0]   cur_id, prev_id;
    reg [31:0]  cur_start, cur_end, prev_start, prev_end;
    reg [2:0]   cur_count, prev_count;
    reg [31:0]  cur_target, prev_target;
    reg         cur_empty, have_job, have_prev;
    reg         issued_any, last_issued, done_seen;
    reg [31:0]  last_nonce;
    reg [1:0]   last_idx;

    wire        accept = job_valid && job_ready;
    wire [7:0]  i_id    = t_issue_tag[41:34];
    wire [1:0]  i_idx   = t_issue_tag[33:32];
    wire [31:0] i_nonce = t_issue_tag[31:0];
    wire        i_last  = i_nonce == cur_end && {1'b0, i_idx} == cur_count - 3'd1;

    always @(posedge clk) begin
        if (rst) begin
            have_job  <= 1'b0;
            have_prev <= 1'b0;
        end else if (accept) begin
            {prev_id, prev_start, prev_end, prev_count, prev_target} <=
                {cur_id, cur_start, cur_end, cur_count, cur_target};
            have_prev   <= have_job;
            have_job    <= 1'b1;
            cur_id      <= job_id;
            cur_start   <= job_nonce_start;
            cur_end     <= job_nonce_end;
            cur_count   <= job_midstate_count;
            cur_target  <= job_target[31:0];
            cur_empty   <= job_midstate_count == 3'd0 || job_midstate_count > 3'd4 ||
                           job_nonce_start > job_nonce_end;
            issued_any  <= 1'b0;
            last_issued <= 1'b0;
            done_seen   <= 1'b0;
        end else begin
            if (t_issue) begin
                issued_any  <= 1'b1;
                last_nonce  <= i_nonce;
                last_idx    <= i_idx;
                if (i_last) last_issued <= 1'b1;
            end
            if (done) done_seen <= 1'b1;
        end
    end

    reg f_past_valid = 1'b0;
    always @(posedge clk) f_past_valid <= 1'b1;

    wire [31:0] succ_nonce = ({1'b0, last_idx} == cur_count - 3'd1) ? last_nonce + 32'd1 : last_nonce;
    wire [1:0]  succ_idx   = ({1'b0, last_idx} == cur_count - 3'd1) ? 2'd0 : last_idx + 2'd1;
    wire [7:0]  e_id       = t_eng_tag[41:34];
    wire        r_cur      = have_job && res_job_id == cur_id;
    wire        r_prev     = have_prev && res_job_id == prev_id;
    wire        chk        = f_past_valid && !rst && have_job;

    always @(*) begin
        if (!f_past_valid) assume (rst);
        if (f_past_valid && !rst && accept && have_job) assume (job_id == cur_id + 8'd1);
        assume (job_target == {8{job_target[31:0]}});
    end

    // Taps appear only inside the asserted expressions, never in an `if` around an assert.
    always @(*) begin
        issue_in_range: assert (!(chk && t_issue) || (!cur_empty && i_id == cur_id && i_nonce >= cur_start &&
                                i_nonce <= cur_end && {1'b0, i_idx} < cur_count));
        issue_first:    assert (!(chk && t_issue && !issued_any) || (i_nonce == cur_start && i_idx == 2'd0));
        issue_next:     assert (!(chk && t_issue && issued_any) || (i_nonce == succ_nonce && i_idx == succ_idx));
        issue_stops:    assert (!(chk && t_issue) || !last_issued);
        engine_current: assert (!(chk && t_eng_out_valid) || e_id == cur_id);
        hit_exact:      assert (!(chk && t_eng_out_valid && t_eng_out_ready) ||
                                t_fifo_wr == hit_of(t_eng_tag[31:0], t_eng_tag[33:32], cur_target));
        fifo_wr_source: assert (!(chk && t_fifo_wr) || (t_eng_out_valid && t_eng_out_ready));
        // (results of older jobs may still wait in the FIFO behind a stalled reader)
        res_in_range:   assert (!(chk && res_valid && r_cur) || (res_nonce >= cur_start && res_nonce <= cur_end &&
                                {1'b0, res_midstate_idx} < cur_count && hit_of(res_nonce, res_midstate_idx, cur_target)));
        res_prev_in_range: assert (!(chk && res_valid && r_prev) || (res_nonce >= prev_start && res_nonce <= prev_end &&
                                {1'b0, res_midstate_idx} < prev_count && hit_of(res_nonce, res_midstate_idx, prev_target)));
        done_complete:  assert (!(chk && done) || ((cur_empty || last_issued) && !done_seen));
        no_job_idle:    assert (!(f_past_valid && !rst && !have_job) || (!t_issue && !done && !res_valid && !busy));
    end
endmodule

`default_nettype wire
