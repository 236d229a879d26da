// Test-only broken variants of sha256d_miner, built from the real miner, for
// tb/test_broken_variants.py: the property tests alone must catch each one.
//   BUG = 1: hits on midstate index 3 are dropped (popped from the FIFO, never shown).
//   BUG = 2: a hit at nonce 0xffffffff is reported with the nonce off by one.
`default_nettype none

module sha256d_miner_broken #(
    parameter PIPELINED  = 0,
    parameter FIFO_DEPTH = 8,
    parameter BUG        = 1
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          job_valid,
    output wire          job_ready,
    input  wire [1023:0] job_midstates,
    input  wire [2:0]    job_midstate_count,
    input  wire [95:0]   job_tail,
    input  wire [31:0]   job_nonce_start,
    input  wire [31:0]   job_nonce_end,
    input  wire [255:0]  job_target,
    input  wire [7:0]    job_id,
    output wire          res_valid,
    input  wire          res_ready,
    output wire [7:0]    res_job_id,
    output wire [1:0]    res_midstate_idx,
    output wire [31:0]   res_nonce,
    output wire          busy,
    output wire          done
);
    wire        valid;
    wire [31:0] nonce;
    wire        hidden = BUG == 1 && res_midstate_idx == 2'd3;

    sha256d_miner #(.PIPELINED(PIPELINED), .FIFO_DEPTH(FIFO_DEPTH)) u_miner (
        .clk(clk), .rst(rst),
        .job_valid(job_valid), .job_ready(job_ready), .job_midstates(job_midstates),
        .job_midstate_count(job_midstate_count), .job_tail(job_tail), .job_nonce_start(job_nonce_start),
        .job_nonce_end(job_nonce_end), .job_target(job_target), .job_id(job_id),
        .res_valid(valid), .res_ready(res_ready || hidden), .res_job_id(res_job_id),
        .res_midstate_idx(res_midstate_idx), .res_nonce(nonce), .busy(busy), .done(done)
    );

    assign res_valid = valid && !hidden;
    assign res_nonce = nonce - {31'd0, BUG == 2 && nonce == 32'hffffffff};
endmodule

`default_nettype wire
