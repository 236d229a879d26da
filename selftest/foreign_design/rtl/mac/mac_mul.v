`default_nettype none
// The multiply stage of mac_pipe: p = a * b, registered when take_i.
module mac_mul (
    input  wire        clk_i,
    input  wire        rst_ni,
    input  wire        take_i,
    input  wire [7:0]  a_i,
    input  wire [7:0]  b_i,
    output reg         valid_o,
    output reg  [15:0] p_o
);
    always @(posedge clk_i) begin
        if (!rst_ni) begin
            valid_o <= 1'b0;
            p_o <= 16'd0;
        end else begin
            valid_o <= take_i;
            if (take_i) p_o <= a_i * b_i;
        end
    end
endmodule
`default_nettype wire
