// Simulation-only top for the overhead prototype (bench/README.md, issue 11):
// sha256d_miner with its clock generated in HDL (needs Verilator --timing),
// so the simulator runs cycles without a GPI clock callback per edge.
`default_nettype none

module sha256d_miner_hdlclk #(
    parameter PIPELINED  = 0,
    parameter FIFO_DEPTH = 8
) (
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
    output wire          done,
    output reg           clk
);
    initial clk = 1'b0;
    always #5 clk = ~clk;

    sha256d_miner #(.PIPELINED(PIPELINED), .FIFO_DEPTH(FIFO_DEPTH)) u_dut (
        .clk(clk), .rst(rst), .job_valid(job_valid), .job_ready(job_ready), .job_midstates(job_midstates),
        .job_midstate_count(job_midstate_count), .job_tail(job_tail), .job_nonce_start(job_nonce_start),
        .job_nonce_end(job_nonce_end), .job_target(job_target), .job_id(job_id), .res_valid(res_valid),
        .res_ready(res_ready), .res_job_id(res_job_id), .res_midstate_idx(res_midstate_idx), .res_nonce(res_nonce),
        .busy(busy), .done(done)
    );
endmodule

`default_nettype wire
