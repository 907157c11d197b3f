module schedlab/peers/experiments

go 1.22
