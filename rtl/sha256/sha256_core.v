// Iterative SHA-256 compression core (FIPS 180-4): one round per clock.
//
// Accepts one 512-bit block plus a 256-bit chaining value (H0 for the first
// block of a message, the previous digest otherwise) on a valid/ready handshake,
// and returns chain + compress(chain, block) on a second valid/ready handshake.
// Latency from accept to out_valid is 65 cycles (64 rounds + final addition).
// A new block is accepted in the same cycle the previous digest is taken, so a
// stream of blocks runs back to back with no idle cycle.
// Padding and message chaining are the user's job (the testbench driver does it).
`default_nettype none

module sha256_core (
    input  wire         clk,
    input  wire         rst,        // synchronous, active high

    input  wire         in_valid,
    output wire         in_ready,
    input  wire [255:0] in_chain,   // H(i-1), word 0 in [255:224]
    input  wire [511:0] in_block,   // M(i), word 0 in [511:480]

    output wire         out_valid,
    input  wire         out_ready,
    output wire [255:0] out_digest  // H(i), word 0 in [255:224]
);
    localparam [1:0] IDLE = 2'd0, ROUNDS = 2'd1, FINAL = 2'd2, DONE = 2'd3;

    reg  [1:0]   phase;
    reg  [5:0]   round;
    reg  [255:0] chain;     // H(i-1), kept for the final addition
    reg  [255:0] working;   // a..h
    reg  [511:0] window;    // W[t..t+15], W[t] in [511:480]
    reg  [255:0] digest;

    wire [31:0]  k;
    wire [31:0]  w_next;
    wire [255:0] working_next;

    sha256_k      u_k      (.round(round), .k(k));
    sha256_w_next u_w_next (.window(window), .w_next(w_next));
    sha256_round  u_round  (.state_in(working), .k(k), .w(window[511:480]), .state_out(working_next));

    wire accept = in_valid && in_ready;

    assign in_ready   = (phase == IDLE) || (phase == DONE && out_ready);
    assign out_valid  = (phase == DONE);
    assign out_digest = digest;

    // H(i) = H(i-1) + working state, word by word modulo 2^32.
    wire [255:0] sum;
    sha256_state_add u_add (.chain(chain), .working(working), .sum(sum));

    always @(posedge clk) begin
        if (rst) begin
            phase <= IDLE;
            round <= 6'd0;
        end else begin
            case (phase)
                ROUNDS: begin
                    round <= round + 6'd1;
                    if (round == 6'd63) phase <= FINAL;
                end
                FINAL:   phase <= DONE;
                default: begin  // IDLE or DONE
                    if (accept) begin
                        phase <= ROUNDS;
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
            chain   <= in_chain;
            working <= in_chain;
            window  <= in_block;
        end else if (phase == ROUNDS) begin
            working <= working_next;
            window  <= {window[479:0], w_next};
        end
        if (phase == FINAL) digest <= sum;
    end
endmodule

`default_nettype wire
