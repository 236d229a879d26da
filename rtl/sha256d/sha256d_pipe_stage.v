// One stage of the unrolled SHA-256d pipeline: round ROUND of a compression
// (its K is a constant, so the ROM folds away) and the message-schedule step,
// registered. `side` carries whatever the stage does not compute on (the
// midstate for the feed-forward, the item's tag) in lock step with the data.
// The whole pipeline advances together on `en`; `flush` empties it.
`default_nettype none

module sha256d_pipe_stage #(
    parameter [5:0] ROUND  = 6'd0,
    parameter       SIDE_W = 1
) (
    input  wire              clk,
    input  wire              rst,         // synchronous, active high
    input  wire              flush,       // drop the item held here
    input  wire              en,          // pipeline advance

    input  wire              valid_in,
    input  wire [255:0]      state_in,    // a..h before this round
    input  wire [511:0]      window_in,   // W[ROUND..ROUND+15], W[ROUND] in [511:480]
    input  wire [SIDE_W-1:0] side_in,

    output reg               valid_out,
    output reg  [255:0]      state_out,   // a..h after this round
    output reg  [511:0]      window_out,  // W[ROUND+1..ROUND+16]
    output reg  [SIDE_W-1:0] side_out
);
    wire [31:0]  k;
    wire [31:0]  w_next;
    wire [255:0] state_next;

    sha256_k      u_k      (.round(ROUND), .k(k));
    sha256_w_next u_w_next (.window(window_in), .w_next(w_next));
    sha256_round  u_round  (.state_in(state_in), .k(k), .w(window_in[511:480]), .state_out(state_next));

    always @(posedge clk) begin
        if (rst || flush) valid_out <= 1'b0;
        else if (en)      valid_out <= valid_in;
    end

    // Data registers need no reset: valid_out gates every use of them.
    always @(posedge clk) begin
        if (en) begin
            state_out  <= state_next;
            window_out <= {window_in[479:0], w_next};
            side_out   <= side_in;
        end
    end
endmodule

`default_nettype wire
