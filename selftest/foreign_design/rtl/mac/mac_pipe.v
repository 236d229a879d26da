`default_nettype none
// A multiply-add pipeline written without asicdv in mind: y = a * b + c (mod 2^16), two stages.
// Input handshake valid_i/ready_o; ready_o drops for one rest cycle after every fourth beat taken.
// Output valid-only (valid_o, no ready): the consumer takes every result. Synchronous active-low
// reset rst_ni.
module mac_pipe (
    input  wire        clk_i,
    input  wire        rst_ni,
    input  wire        valid_i,
    output wire        ready_o,
    input  wire [7:0]  a_i,
    input  wire [7:0]  b_i,
    input  wire [15:0] c_i,
    output reg         valid_o,
    output reg  [15:0] y_o
);
    wire        take = valid_i && ready_o;
    wire [15:0] product;
    wire        product_valid;
    reg  [15:0] addend;
    reg  [1:0]  taken;
    reg         rest;

    assign ready_o = !rest;

    mac_mul mul (
        .clk_i(clk_i),
        .rst_ni(rst_ni),
        .take_i(take),
        .a_i(a_i),
        .b_i(b_i),
        .valid_o(product_valid),
        .p_o(product)
    );

    always @(posedge clk_i) begin
        if (!rst_ni) begin
            taken <= 2'd0;
            rest <= 1'b0;
            addend <= 16'd0;
            valid_o <= 1'b0;
            y_o <= 16'd0;
        end else begin
            rest <= take && taken == 2'd3;
            if (take) begin
                taken <= taken + 2'd1;
                addend <= c_i;
            end
            valid_o <= product_valid;
            if (product_valid) y_o <= product + addend;
        end
    end
endmodule
`default_nettype wire
